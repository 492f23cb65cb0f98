"""Cores not kept apart are flagged in the report, never read as a clean run: not pinned (an
OS without affinity), shared cores (--allow-shared-cores, or one CPU), and a foreign-CPU check
that could not run (no /proc/stat). Runs recorded before the plan said so read as before."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness import results
from harness.analysis import run_warnings
from harness.analysis.analyze import analyze
from harness.measure.pinning import Pinning

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "run-small"


def _with_metadata(**changes: Any) -> results.Run:
    run = results.load(FIXTURE)
    return replace(run, metadata={**run.metadata, **changes})


def test_an_old_run_has_no_pinning_warning() -> None:
    assert run_warnings.pinning(results.load(FIXTURE)) == []


def test_todays_two_cpu_plan_is_not_flagged() -> None:
    assert run_warnings.pinning(_with_metadata(pinning=Pinning.plan((0, 1)).to_dict())) == []


def test_a_run_that_was_not_pinned_says_so() -> None:
    plan = replace(Pinning.plan((0, 1)), pinned=False).to_dict()
    (line,) = run_warnings.pinning(_with_metadata(pinning=plan))
    assert line.startswith("not pinned: load generator and app share cores")


def test_shared_cores_are_named() -> None:
    plan = Pinning.plan((0, 1), {"app": (0, 1)}, allow_shared=True).to_dict()
    lines = run_warnings.pinning(_with_metadata(pinning=plan))
    assert any("the app and the load generator share CPU 1" in line for line in lines)
    assert all(line.startswith("shared cores:") for line in lines)


def test_an_old_one_cpu_run_is_flagged_from_its_cpus() -> None:
    old = {"app": [0], "loadgen": [0], "upstream": [0], "database": [0], "note": "only one CPU"}
    (line,) = run_warnings.pinning(_with_metadata(pinning=old))
    assert "the app and the load generator share CPU 0" in line


def test_a_foreign_cpu_check_that_could_not_run_is_said_not_passed() -> None:
    lines = run_warnings.pinning(_with_metadata(per_cpu_times=False))
    assert lines == [
        "the foreign-CPU check could not run: this OS has no per-CPU times (/proc/stat), so no "
        "measurement was checked for other processes on its cores — keep the machine idle while "
        "measuring"
    ]


def test_the_report_carries_the_flags(tmp_path: Path) -> None:
    """Through the whole analysis: the warnings reach what every renderer shows."""
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    doc = json.loads((run_dir / "results.json").read_text())
    doc["metadata"]["pinning"] = replace(Pinning.plan((0, 1)), pinned=False).to_dict()
    doc["metadata"]["per_cpu_times"] = False
    (run_dir / "results.json").write_text(json.dumps(doc))
    warnings = analyze(run_dir).warnings
    assert any(w.startswith("not pinned: load generator and app share cores") for w in warnings)
    assert any(w.startswith("the foreign-CPU check could not run") for w in warnings)
