"""``bench run --check`` and a scenario file's ``checks``: a malformed check or an unknown label
is exit 2 before anything starts; a failed check is exit 1 once the run and its report are
written. No test here starts the app or Locust: the measuring is replaced by a copy of the
checked-in run ``run-small`` (sleep: sync sleep 95 RPS, async sleep 90 RPS at 10 users)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import bench
from harness import results
from harness.measure import runner
from harness.measure.plan import RunOptions
from scenarios import Scenario
from tests.test_cli import FIXTURE, one_line_error

MINE = """\
name = "sleep"
description = "the sleep pair"
users = [10]
[[endpoints]]
label = "sync sleep"
variant = "sync"
path = "/sync/sleep?ms=100"
[[endpoints]]
label = "async sleep"
variant = "async"
path = "/async/sleep?ms=100"
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(bench.app, list(args))


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the run started")

    monkeypatch.setattr(runner, "run", refuse)


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[RunOptions]:
    """``runner.run`` writes a copy of run-small with the checks it was given, as a run would."""
    given: list[RunOptions] = []

    def run(
        label: str, scenarios: list[Scenario], options: RunOptions, progress: Any = None
    ) -> tuple[Path, results.Run]:
        given.append(options)
        run_dir = tmp_path / "out" / "run"
        shutil.copytree(FIXTURE, run_dir)  # never write into tests/fixtures
        doc = json.loads((run_dir / "results.json").read_text())
        doc["checks"] = list(options.checks)
        own = {s.name: list(s.checks) for s in scenarios}
        for record in doc["scenarios"]:
            record["checks"] = own.get(record["name"], [])
        (run_dir / "results.json").write_text(json.dumps(doc))
        return run_dir, results.load(run_dir)

    monkeypatch.setattr(runner, "run", run)
    return given


@pytest.mark.parametrize(
    ("check", "words"),
    [
        ("async sleep: rps >= fast", "'fast' is not a number"),
        ("async sleep rps 900", "no comparison"),
        ("rps >= 900", "rps needs an endpoint"),
        ("async sleep: speed >= 1", "unknown metric 'speed'"),
        ("a / b / c >= 1", "a ratio 'A / B'"),
    ],
)
def test_a_malformed_check_is_exit_2_before_anything(
    tmp_path: Path, nothing_starts: None, check: str, words: str
) -> None:
    out = tmp_path / "out"
    result = invoke("run", "sleep", "--check", "errors == 0", "--check", check, "--out", str(out))
    line = one_line_error(result)
    assert result.exit_code == 2
    assert line.startswith(f"error: Invalid value for --check: check {check!r}: ")
    assert words in line and line.endswith("(see: bench run --help)")
    assert not out.exists()


def test_an_unknown_label_is_exit_2_before_the_app_starts(
    tmp_path: Path, nothing_starts: None
) -> None:
    out = tmp_path / "out"
    line = one_line_error(invoke("run", "sleep", "--check", "nosuch: rps >= 1", "--out", str(out)))
    # the calibration (sync and async hello) is measured too: its labels can be checked
    assert line == (
        "error: Invalid value for --check: check 'nosuch: rps >= 1': unknown endpoint 'nosuch'; "
        "known: sync hello, async hello, sync sleep, async sleep (see: bench run --help)"
    )
    users = invoke("run", "sleep", "--users", "10", "--check", "async sleep @ 50: rps >= 1")
    assert "'async sleep' is measured at 10 users, not 50" in one_line_error(users)
    assert not out.exists()


def test_an_unknown_label_in_a_scenario_file_is_exit_2(
    tmp_path: Path, nothing_starts: None
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('checks = ["async sleep / sync sleeep >= 2"]\n' + MINE)
    result = invoke("run", str(path), "--out", str(tmp_path / "out"))
    line = one_line_error(result)
    assert result.exit_code == 2
    assert line == (
        "error: mine.toml: checks[0]: check 'async sleep / sync sleeep >= 2': unknown endpoint "
        "'sync sleeep'; known: sync sleep, async sleep"
    )
    path.write_text('checks = ["async sleep @ 100: rps >= 1"]\n' + MINE)
    levels = one_line_error(invoke("run", str(path), "--users", "10"))
    assert levels == (
        "error: mine.toml: check 'async sleep @ 100: rps >= 1': 'async sleep' is measured at "
        "10 users, not 100"
    )


def test_checks_that_pass_exit_0_and_are_saved_with_the_run(
    tmp_path: Path, measured: list[RunOptions]
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('checks = ["async sleep / sync sleep <= 1.1"]\n' + MINE)
    result = invoke(
        "run",
        str(path),
        "--no-calibrate",
        "--no-report",  # judged all the same, from the numbers alone
        "--check",
        "sync sleep @ 10: rps >= 90",
        "--check",
        "errors <= 3",
    )
    assert result.exit_code == 0, result.output
    assert measured[0].checks == ("sync sleep @ 10: rps >= 90", "errors <= 3")
    lines = result.stdout.splitlines()
    assert lines[-1] == "checks: all 3 passed"
    assert lines[-5].split() == ["check", "where", "measured", "threshold", "result", "why"]
    assert " ".join(lines[-4].split()) == (
        "sync sleep @ 10: rps >= 90 sleep / sync sleep @ 10 users 95.0 RPS ≥ 90 RPS pass "
        "95.0 RPS ≥ 90 RPS"
    )
    assert "upper bound of the 95 % CI: 1.01 ≤ 1.1" in lines[-2]  # the scenario file's check
    run_dir = tmp_path / "out" / "run"
    assert not (run_dir / "index.html").exists()
    saved = results.load(run_dir)
    assert saved.checks == ["sync sleep @ 10: rps >= 90", "errors <= 3"]
    assert saved.scenario("sleep")["checks"] == ["async sleep / sync sleep <= 1.1"]


def test_a_failed_check_exits_1_after_the_report_is_written(
    tmp_path: Path, measured: list[RunOptions]
) -> None:
    result = invoke(
        "run",
        "sleep",
        "--users",
        "10",
        "--no-calibrate",
        "--check",
        "async sleep / sync sleep >= 2",
        "--check",
        "sync sleep: p99 <= 300ms",
    )
    assert result.exit_code == 1, result.output
    assert "error:" not in result.stderr
    lines = result.stdout.splitlines()
    run_dir = tmp_path / "out" / "run"
    assert lines[-1] == f"report: {run_dir / 'index.html'}"
    assert lines[-2] == "checks: 1 of 2 failed"
    failed = next(line for line in lines if line.startswith("async sleep / sync sleep >= 2"))
    assert "FAIL" in failed and "lower bound of the 95 % CI: 0.89 < 2" in failed
    summary = (run_dir / "summary.md").read_text()
    assert "**Checks** (1 of 2 failed):" in summary
    assert (
        "| async sleep / sync sleep >= 2 | sleep: async sleep / sync sleep @ 10 users |" in summary
    )
    page = (run_dir / "index.html").read_text()
    assert '<h2 id="checks">Checks</h2>' in page and "1 of 2 checks failed" in page


def test_the_exit_codes_are_in_the_help() -> None:
    for command in ("run", "compare"):
        result = invoke(command, "--help")
        assert result.exit_code == 0 and "Exit codes: 0" in result.stdout
    assert "--check CHECK" in invoke("run", "--help").stdout
    assert "--fail-on-regression SHARE" in invoke("compare", "--help").stdout
