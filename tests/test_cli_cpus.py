"""``bench run --app-cpus/--loadgen-cpus/--services-cpus/--allow-shared-cores``: every bad plan
is one ``error:`` line naming its option, exit 2, before any process or folder; a good one
reaches the runner as a checked plan. Nothing here starts a process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import affinity
from harness.measure.request import OptionError, RunRequest, prepare
from tests.test_cli import invoke, one_line_error

CPUS = affinity.usable_cpus()
FIRST, LAST = CPUS[0], CPUS[-1]
ALL = f"{FIRST}-{LAST}" if len(CPUS) > 1 else str(FIRST)
needs_two = pytest.mark.skipif(len(CPUS) < 2 or not affinity.can_pin(), reason="needs 2 CPUs")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--app-cpus", "zero"], ["--app-cpus", "expected CPU numbers or ranges", "'zero'"]),
        (["--loadgen-cpus", "3-1"], ["--loadgen-cpus", "the range 3-1 runs backwards"]),
        (["--services-cpus", ""], ["--services-cpus", "an empty set of CPUs"]),
        (["--app-cpus", str(LAST + 1000)], ["--app-cpus", f"CPU {LAST + 1000} is not one"]),
        (["--app-cpus", ALL], ["--app-cpus", "leaves no CPU for the load generator"]),
    ],
)
def test_a_bad_plan_is_one_line_and_no_folder(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    out = tmp_path / "out"
    result = invoke("run", "baseline", *args, "--out", str(out))
    line = one_line_error(result)
    assert result.exit_code == 2
    assert line.startswith("error: Invalid value for ") and line.endswith("--help)")
    for word in words:
        assert word in line
    assert not out.exists(), "no run folder for bad input"


@needs_two
def test_overlapping_roles_are_refused_unless_allowed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", "baseline", "--app-cpus", str(FIRST), "--loadgen-cpus", str(FIRST)]
    line = one_line_error(invoke(*args, "--out", str(out)))
    assert "--app-cpus" in line and f"share CPU {FIRST}" in line
    assert "--allow-shared-cores" in line and not out.exists()
    plan = prepare(
        RunRequest(
            scenario="baseline",
            app_cpus=str(FIRST),
            loadgen_cpus=str(FIRST),
            allow_shared_cores=True,
        )
    ).options.pinning
    assert plan is not None and plan.allow_shared and plan.shared
    assert plan.to_dict()["origin"]["app"] == "given"


@needs_two
def test_a_given_plan_reaches_the_runner() -> None:
    request = RunRequest(scenario="baseline", app_cpus=str(LAST), loadgen_cpus=str(FIRST))
    plan = prepare(request).options.pinning
    assert plan is not None and plan.app == (LAST,) and plan.loadgen == (FIRST,)
    assert plan.given == ("app", "loadgen") and not plan.shared


def test_without_affinity_a_given_role_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    with pytest.raises(OptionError, match="--loadgen-cpus: this OS cannot pin"):
        prepare(RunRequest(scenario="baseline", loadgen_cpus="0"))
    plan = prepare(RunRequest(scenario="baseline")).options.pinning
    assert plan is not None and not plan.pinned


def test_the_options_are_in_the_help() -> None:
    text = invoke("run", "--help").stdout
    for option in ("--app-cpus", "--loadgen-cpus", "--services-cpus", "--allow-shared-cores"):
        assert option in text
