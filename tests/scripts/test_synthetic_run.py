"""The synthetic run of the report benchmark: a valid run folder that says it is synthetic."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness import results, server_samples
from harness.report.build import build
from locustfiles.protocol import SAMPLE_COLUMNS
from scenarios.loader import resolve
from scripts import synthetic_run


def test_a_small_synthetic_run_loads_and_reports(tmp_path: Path) -> None:
    run_dir = synthetic_run.build(tmp_path, "sleep", 5_000, seed=3)
    run = results.load(run_dir)
    assert run.schema == results.SCHEMA == 2
    assert run.metadata["synthetic"] is True and "not a measurement" in run.note
    assert len(run.measurements) == 6  # sleep: 2 endpoints × 3 users levels
    assert all(r["description"].startswith("[synthetic]") for r in run.scenarios)
    assert all(e["service_ms"] == "100" for e in run.scenarios[0]["endpoints"])  # the model
    raw = json.loads((run_dir / "results.json").read_text())
    assert all("model" not in m for m in raw["measurements"])
    written = [pd.read_csv(run_dir / m.samples, keep_default_na=False) for m in run.measurements]
    columns = list(SAMPLE_COLUMNS)  # as the recorder writes them
    assert all(list(frame.columns) == columns for frame in written)
    labels = {e.label for e in resolve("sleep")[1][0].endpoints}
    assert {name for frame in written for name in frame["name"]} == labels
    assert 4_990 <= sum(map(len, written)) <= 5_010
    for m in run.measurements:
        assert (run_dir / m.samples.replace(".csv", ".meta.json")).is_file()
        assert len(server_samples.load_metrics(run_dir, m)) > 10
    built = build(run_dir)
    assert built.index.is_file() and built.summary.is_file()
    for chart in ("rps", "sweep", "latency", "timeline", "signals"):
        assert (run_dir / f"{chart}-sleep.png").is_file(), chart
    assert built.analysis.table["requests"].sum() > 0


def test_it_behaves_like_the_capacity_model(tmp_path: Path) -> None:
    """Async sleep keeps its response time as users grow; sync queues behind 40 threads."""
    run_dir = synthetic_run.build(tmp_path, "sleep", 20_000, seed=1)
    table = build(run_dir).analysis.table.set_index(["endpoint", "users"])
    sync, asynchronous = table.loc[("sync sleep", 100)], table.loc[("async sleep", 100)]
    assert asynchronous["rps"] > 2 * sync["rps"]
    assert sync["p50_ms"] > 2 * asynchronous["p50_ms"]
    assert 90 < table.loc[("sync sleep", 10), "p50_ms"] < 115  # 100 ms of sleep
    assert 90 < asynchronous["p50_ms"] < 115


def test_the_same_seed_writes_the_same_run(tmp_path: Path) -> None:
    first = synthetic_run.build(tmp_path / "a", "sleep", 2_000, seed=3)
    again = synthetic_run.build(tmp_path / "b", "sleep", 2_000, seed=3)
    for path in sorted((first / "samples").iterdir()):
        assert (again / "samples" / path.name).read_bytes() == path.read_bytes(), path.name
