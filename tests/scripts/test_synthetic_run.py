"""The synthetic run of the report benchmark: a valid run folder that says it is synthetic."""

from __future__ import annotations

from pathlib import Path

from harness import results
from harness.report.build import build
from scripts import synthetic_run


def test_a_small_synthetic_run_loads_and_reports(tmp_path: Path) -> None:
    run_dir = synthetic_run.build(tmp_path, "sleep", 6_000, seed=3)
    run = results.load(run_dir)
    assert run.metadata["synthetic"] is True and "not a measurement" in run.note
    assert len(run.measurements) == 6  # sleep: 2 endpoints × 3 users levels
    assert all(r["description"].startswith("[synthetic]") for r in run.scenarios)
    built = build(run_dir)
    assert built.index.is_file() and (run_dir / "rps-sleep.png").is_file()
    assert built.analysis.table["requests"].sum() > 0
    again = synthetic_run.build(tmp_path / "again", "sleep", 6_000, seed=3)
    first = (run_dir / "samples" / f"{run.measurements[0].id}.csv").read_bytes()
    assert (again / "samples" / f"{run.measurements[0].id}.csv").read_bytes() == first
