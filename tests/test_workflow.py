"""The GitHub Actions workflow users copy (docs/ci/bench.yml) cannot run here: what can be
checked is. It is a valid workflow (GitHub's schema, vendored by check-jsonschema: no network),
and every command its steps run exists: each make target in the Makefile, each `bench`
subcommand and option in the CLI, each scenario it names, each check it passes parses."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

import bench
from scenarios.loader import available, resolve

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "docs" / "ci" / "bench.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
OTHER_TOOLS = {"cat", "gh", "echo", "exit"}  # shell and GitHub CLI lines: not ours to check
SHELL = {">", ">>", "|", "||", "&&", ";"}  # a command ends at the first of these


def _steps() -> list[dict[str, Any]]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def _commands() -> list[list[str]]:
    """Every command line of every ``run:`` step, ``${{ … }}`` expressions as a placeholder."""
    found = []
    for step in _steps():
        for line in step.get("run", "").splitlines():
            words = shlex.split(re.sub(r"\$\{\{.*?\}\}", "1", line))
            ends = [i for i, w in enumerate(words) if w in SHELL or w.startswith("2>")]
            if words[: min(ends, default=len(words))]:
                found.append(words[: min(ends, default=len(words))])
    return found


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    args = [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def test_it_is_a_valid_github_workflow_and_a_broken_one_is_not(tmp_path: Path) -> None:
    assert _validate(WORKFLOW).returncode == 0, _validate(WORKFLOW).stdout
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:"))
    assert _validate(broken).returncode != 0


def test_it_measures_both_sides_then_compares_uploads_and_comments() -> None:
    steps = _steps()
    names = " / ".join(s.get("name", s.get("uses", "")) for s in steps)
    runs = [c for c in _commands() if c[0].endswith("bench")]
    assert [c[1] for c in runs] == ["run", "run", "compare"], runs
    assert any("--check" in c for c in runs) and any("--fail-on-regression" in c for c in runs)
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps), names
    assert any(c[:3] == ["gh", "pr", "comment"] for c in _commands())


def test_every_make_target_it_calls_exists() -> None:
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    called = [c for c in _commands() if c[0] == "make"]
    assert called
    for command in called:
        wanted = [a for a in command[1:] if not a.startswith("-") and a not in ("base", "head")]
        assert set(wanted) <= targets, command


@pytest.mark.parametrize("command", [c for c in _commands() if c[0].endswith("bench")], ids=str)
def test_every_bench_command_parses_with_the_real_cli(command: list[str]) -> None:
    sub = get_command(bench.app).commands[command[1]]  # type: ignore[attr-defined]
    ctx = sub.make_context(command[1], command[2:])  # an unknown option or bad value raises
    if command[1] == "run":
        assert ctx.params["scenario"] in available()


def test_every_other_line_is_a_known_tool() -> None:
    tools = {c[0] for c in _commands() if c[0] != "make" and not c[0].endswith("bench")}
    assert tools <= OTHER_TOOLS, tools


def test_every_check_it_passes_parses_and_names_a_quick_endpoint() -> None:
    from harness.analysis import checks

    given = [c[i + 1] for c in _commands() for i, w in enumerate(c) if w == "--check"]
    assert given
    _, scenarios = resolve("quick")
    checks.validate(checks.parse_all(given), scenarios)  # a bad label or form raises
