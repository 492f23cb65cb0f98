"""Golden tests of analysis and the report on the checked-in run ``tests/fixtures/run-small``.

The fixture is hand-made so that every number below can be worked out on paper. Measurement
``i`` has its window ``[W_i, W_i + 2 s]`` with ``W_i = 1_700_000_000 + 10 i`` after a 1 s warm-up;
10 users. Times are request *completions* (``start + elapsed``), which is what the window counts.

``sleep--sync-sleep--u10--r0`` (the golden one), in completion order:
  * warm-up: 5 successes ending at W-0.9 … W-0.5 (100.0 … 102.0 ms) and one
    ``ConnectionResetError`` ending at W-0.3: all excluded;
  * window: 200 successes ending at W+0.005+0.01k (k = 0…199) of ``100 + (k % 20) * 0.5`` ms,
    i.e. each of 100.0, 100.5 … 109.5 ten times: RPS = 200 / 2 s = 100.0;
    errors: two 503s (2.5 ms) ending at W+0.503 and W+1.207, one ``TimeoutError: timed out after
    30s`` (30 000 ms) ending at W+1.5: 203 requests, 3 errors, 1 timeout;
  * after the window: 3 successes ending at W+2.01 … W+2.03: excluded;
  * server metrics: 7 snapshots, at W-0.5 and W+2.75 outside the window (with extreme values
    that must not count), 5 inside at W+0.25 … W+2.25 with loop lag max 1.5/2/4.5/3/1 ms,
    threads busy 10/10/10/9/10, CPU seconds 10.0 → 10.5 over 2 s: app CPU share 0.25.
``sleep--sync-sleep--u10--r1``: 180 successes (90 RPS), 110…118 ms each 20×.
``sleep--async-sleep--u10--r0`` / ``r1``: 200 and 160 successes (100 and 80 RPS).
``pitfalls--pitfall-sleep--u10--r0``: 20 successes (10 RPS, 1000 + 5k ms), loop lag 100 ms.
``pitfalls--fixed-sleep--u10--r0``: 200 successes (100 RPS), 101…104 ms.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness import results
from harness.analysis import run_warnings, samples, tables
from harness.errors import BenchError
from harness.results import Measurement, Run

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "run-small"
W0 = 1_700_000_000.0
GOLDEN = "sleep--sync-sleep--u10--r0"

SYNC_R0_MS = [100.0 + (k % 20) * 0.5 for k in range(200)]
SYNC_R1_MS = [110.0 + (k % 9) for k in range(180)]
ASYNC_R0_MS = [100.0 + (k % 10) * 0.25 for k in range(200)]
ASYNC_R1_MS = [120.0 + (k % 16) for k in range(160)]
PITFALL_MS = [1000.0 + 5.0 * k for k in range(20)]
FIXED_MS = [101.0 + (k % 4) for k in range(200)]


@pytest.fixture(scope="module")
def run() -> Run:
    return results.load(FIXTURE)


@pytest.fixture(scope="module")
def summary(run: Run) -> pd.DataFrame:
    return tables.summarize(FIXTURE, run)


@pytest.fixture(scope="module")
def table(summary: pd.DataFrame) -> pd.DataFrame:
    return tables.aggregate(summary)


def row_of(frame: pd.DataFrame, **where: object) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        mask &= (frame[key] == value).to_numpy()
    rows = frame[mask]
    assert len(rows) == 1, f"expected one row for {where}, got {len(rows)}"
    return rows.iloc[0]


def measurement(run: Run, mid: str) -> Measurement:
    return next(m for m in run.measurements if m.id == mid)


# --- the fixture itself ---------------------------------------------------------------------


def test_fixture_is_a_small_schema_1_run(run: Run) -> None:
    on_disk = json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))
    assert on_disk["schema"] == 1, "the fixture stays a schema 1 run: old runs must load"
    assert run.schema == results.SCHEMA and run.status == "complete"
    assert [s["name"] for s in run.scenarios] == ["sleep", "pitfalls"]
    assert len(run.measurements) == 6
    total = sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file())
    assert total < 200_000
    assert not (FIXTURE / "index.html").exists(), "a test wrote into the checked-in fixture"
    for m in run.measurements:
        frame = pd.read_csv(FIXTURE / m.samples)
        assert list(frame.columns) == ["start", "elapsed_ms", "status", "bytes", "error"]
        assert (FIXTURE / m.metrics).is_file()
        assert (FIXTURE / m.samples.replace(".csv", ".meta.json")).is_file()


# --- summarize: the golden measurement ------------------------------------------------------


def test_golden_counts_and_rates(summary: pd.DataFrame) -> None:
    row = row_of(summary, id=GOLDEN)
    assert row["requests"] == 203
    assert row["ok"] == 200
    assert row["errors"] == 3
    assert row["timeouts"] == 1
    assert row["error_rate"] == pytest.approx(3 / 203)
    assert row["duration_s"] == 2.0
    assert row["rps"] == 100.0
    assert row["top_error"].startswith("HTTPError: 503")
    assert row["status"] == "ok" and row["users"] == 10 and row["repeat"] == 0


def test_golden_percentiles_are_exact_over_successes(summary: pd.DataFrame) -> None:
    row = row_of(summary, id=GOLDEN)
    # worked out by hand: 200 values, each of 100.0 … 109.5 ten times (numpy's linear rule)
    assert row["p50_ms"] == 104.75
    assert row["p90_ms"] == pytest.approx(108.55, abs=1e-9)
    assert row["p99_ms"] == 109.5
    assert row["mean_ms"] == 104.75
    assert row["max_ms"] == 109.5  # the 30 s timeout is an error, not a latency
    for p in tables.PERCENTILES:
        assert row[f"p{p}_ms"] == pytest.approx(np.percentile(SYNC_R0_MS, p), abs=1e-9)


@pytest.mark.parametrize(
    ("mid", "requests", "rps", "values"),
    [
        ("sleep--sync-sleep--u10--r0", 203, 100.0, SYNC_R0_MS),
        ("sleep--async-sleep--u10--r0", 200, 100.0, ASYNC_R0_MS),
        ("sleep--sync-sleep--u10--r1", 180, 90.0, SYNC_R1_MS),
        ("sleep--async-sleep--u10--r1", 160, 80.0, ASYNC_R1_MS),
        ("pitfalls--pitfall-sleep--u10--r0", 20, 10.0, PITFALL_MS),
        ("pitfalls--fixed-sleep--u10--r0", 200, 100.0, FIXED_MS),
    ],
)
def test_every_measurement(
    summary: pd.DataFrame, mid: str, requests: int, rps: float, values: list[float]
) -> None:
    row = row_of(summary, id=mid)
    assert row["requests"] == requests
    assert row["ok"] == len(values)
    assert row["rps"] == pytest.approx(rps, rel=1e-12)
    for p in tables.PERCENTILES:
        assert row[f"p{p}_ms"] == pytest.approx(np.percentile(values, p), abs=1e-9)
    assert row["max_ms"] == max(values)


def test_summary_keeps_run_order(summary: pd.DataFrame, run: Run) -> None:
    assert list(summary["id"]) == [m.id for m in run.measurements]


def test_warmup_and_late_samples_are_excluded(run: Run) -> None:
    m = measurement(run, GOLDEN)
    frame = samples.load_samples(FIXTURE, m)
    assert len(frame) == 212  # 6 warm-up + 203 in the window + 3 late
    before = frame[frame["end"] < m.window_start]
    after = frame[frame["end"] > m.window_end]
    assert len(before) == 6 and not before["in_window"].any()
    assert len(after) == 3 and not after["in_window"].any()
    assert int(frame["in_window"].sum()) == 203
    assert (
        before["error"] == "ConnectionResetError: [Errno 104] Connection reset by peer"
    ).sum() == 1
    # the window decides: widen it over the warm-up and those samples count
    wider = replace(m, window_start=m.window_start - m.warmup_s)
    row = tables.summarize_measurement(FIXTURE, wider)
    assert (row["requests"], row["ok"], row["errors"]) == (209, 205, 4)


def test_golden_server_signals_come_from_inside_the_window(summary: pd.DataFrame) -> None:
    row = row_of(summary, id=GOLDEN)
    assert row["loop_lag_max_ms"] == 4.5  # not the 50 / 80 ms outside the window
    assert row["loop_lag_mean_ms"] == pytest.approx(0.6)
    assert row["threadpool_busy_max"] == 10.0  # not the 12 / 40 outside the window
    assert row["app_cpu_share"] == 0.25  # 0.5 CPU-s over 2 s
    assert row["app_rss_mb"] == 100.0


def test_pitfall_shows_a_blocked_loop_and_no_threads(summary: pd.DataFrame) -> None:
    pitfall = row_of(summary, id="pitfalls--pitfall-sleep--u10--r0")
    fixed = row_of(summary, id="pitfalls--fixed-sleep--u10--r0")
    assert pitfall["loop_lag_max_ms"] == 100.0 and fixed["loop_lag_max_ms"] == 1.0
    assert pitfall["threadpool_busy_max"] == 0.0 and fixed["threadpool_busy_max"] == 10.0
    assert pitfall["app_cpu_share"] == 0.0625


def test_missing_metrics_give_nan_signals(run: Run) -> None:
    m = replace(measurement(run, GOLDEN), metrics="metrics/absent.json")
    row = tables.summarize_measurement(FIXTURE, m)
    assert math.isnan(row["loop_lag_max_ms"]) and math.isnan(row["app_cpu_share"])
    assert row["rps"] == 100.0


# --- aggregate ------------------------------------------------------------------------------


def test_aggregate_one_row_per_endpoint_and_users(table: pd.DataFrame) -> None:
    assert list(zip(table["scenario"], table["endpoint"], table["users"], strict=True)) == [
        ("sleep", "sync sleep", 10),
        ("sleep", "async sleep", 10),
        ("pitfalls", "pitfall sleep", 10),
        ("pitfalls", "fixed sleep", 10),
    ]
    assert list(table["repeats"]) == [2, 2, 1, 1]


def test_aggregate_median_spread_and_cv_over_repeats(table: pd.DataFrame) -> None:
    sync = row_of(table, endpoint="sync sleep")
    assert (sync["rps"], sync["rps_min"], sync["rps_max"]) == (95.0, 90.0, 100.0)
    assert sync["rps_std"] == pytest.approx(math.sqrt(50))  # sample std of 100 and 90
    assert sync["rps_cv"] == pytest.approx(math.sqrt(50) / 95)
    assert sync["p50_ms"] == pytest.approx(np.median([104.75, np.percentile(SYNC_R1_MS, 50)]))
    assert sync["p50_ms"] == 109.375
    assert sync["max_ms"] == 118.0
    assert (sync["requests"], sync["errors"], sync["timeouts"]) == (383, 3, 1)
    assert sync["error_rate"] == pytest.approx(3 / 383)
    assert sync["loop_lag_max_ms"] == 4.5 and sync["threadpool_busy_max"] == 10.0
    asynchronous = row_of(table, endpoint="async sleep")
    assert (asynchronous["rps"], asynchronous["rps_min"], asynchronous["rps_max"]) == (
        90.0,
        80.0,
        100.0,
    )
    assert asynchronous["rps_cv"] == pytest.approx(math.sqrt(200) / 90)
    assert asynchronous["rps_cv"] > 0.10 > sync["rps_cv"]
    single = row_of(table, endpoint="pitfall sleep")
    assert (single["rps"], single["rps_std"], single["rps_cv"]) == (10.0, 0.0, 0.0)


def test_aggregate_leaves_failed_measurements_out(run: Run, table: pd.DataFrame) -> None:
    failed = replace(
        measurement(run, "sleep--sync-sleep--u10--r1"),
        id="sleep--sync-sleep--u10--r2",
        repeat=2,
        samples="",
        metrics="",
        window_start=0.0,
        window_end=0.0,
        status="failed",
        error="the app died",
    )
    with_failure = run.with_measurement(failed)
    summary = tables.summarize(FIXTURE, with_failure)
    assert row_of(summary, id=failed.id)["requests"] == 0
    again = tables.aggregate(summary)
    pd.testing.assert_frame_equal(again, table)


def test_aggregate_of_nothing_is_empty() -> None:
    assert tables.aggregate(pd.DataFrame()).empty


# --- timeseries -----------------------------------------------------------------------------


def test_golden_timeseries(run: Run) -> None:
    series = samples.timeseries(FIXTURE, measurement(run, GOLDEN))
    assert list(series["t"]) == [-1.0, 0.0, 1.0]  # warm-up second, then the window; no late bin
    assert list(series["rps"]) == [5.0, 100.0, 100.0]
    assert list(series["errors_per_s"]) == [1.0, 1.0, 2.0]
    # latency of successes only (the 503s and the 30 s timeout are errors)
    assert list(series["p50_ms"]) == [101.0, 104.75, 104.75]
    assert series["p99_ms"].iloc[1] == pytest.approx(np.percentile(SYNC_R0_MS[:100], 99))


def test_timeseries_window_sum_matches_summary(run: Run, summary: pd.DataFrame) -> None:
    for m in run.measurements:
        series = samples.timeseries(FIXTURE, m)
        inside = series[series["t"] >= 0]
        assert inside["rps"].sum() == row_of(summary, id=m.id)["ok"]


# --- bad samples ----------------------------------------------------------------------------


def test_samples_without_a_required_column_are_refused(tmp_path: Path, run: Run) -> None:
    shutil.copytree(FIXTURE, tmp_path / "run")
    m = measurement(run, GOLDEN)
    path = tmp_path / "run" / m.samples
    frame = pd.read_csv(path, keep_default_na=False).drop(columns=["elapsed_ms"])
    frame.to_csv(path, index=False)
    with pytest.raises(BenchError, match="elapsed_ms"):
        tables.summarize(tmp_path / "run", run)


def test_garbled_and_empty_samples_are_reported_not_fatal(tmp_path: Path, run: Run) -> None:
    """Garbage rows and a last row cut short are skipped and counted; an empty file is a
    measurement without samples; both are named in the warnings."""
    shutil.copytree(FIXTURE, tmp_path / "run")
    m = measurement(run, GOLDEN)
    path = tmp_path / "run" / m.samples
    with path.open("a") as handle:
        handle.write("garbage,row\n1700000001.5,10")
    other = next(x for x in run.measurements if x.id != GOLDEN)
    (tmp_path / "run" / other.samples).write_text("")
    summary = tables.summarize(tmp_path / "run", run).set_index("id")
    assert summary.loc[GOLDEN, "bad_rows"] == 2
    assert (
        summary.loc[GOLDEN, "requests"]
        == tables.summarize(FIXTURE, run).set_index("id").loc[GOLDEN, "requests"]
    )
    assert summary.loc[other.id, "empty_file"] and summary.loc[other.id, "requests"] == 0
    warnings = run_warnings.warnings_for(
        run, tables.aggregate(summary.reset_index()), summary.reset_index()
    )
    assert any(f"{m.samples}: 2 row(s) that are not samples were skipped" in w for w in warnings)
    assert any(f"{other.samples} is empty" in w for w in warnings)


def test_the_timeseries_ends_with_the_last_whole_bin(tmp_path: Path, run: Run) -> None:
    """A window that overshoots its duration by a sliver has no trailing bin of a few requests
    (it would be drawn as throughput falling to zero)."""
    shutil.copytree(FIXTURE, tmp_path / "run")
    m = measurement(run, GOLDEN)
    path = tmp_path / "run" / m.samples
    frame = pd.read_csv(path, keep_default_na=False)
    late = frame.iloc[[0]].assign(start=m.window_end + 0.0002 - 0.1, elapsed_ms=100.0, error="")
    pd.concat([frame, late]).to_csv(path, index=False)
    longer = replace(m, window_end=m.window_end + 0.0004)
    series = samples.timeseries(tmp_path / "run", longer)
    assert list(series["t"]) == [-1.0, 0.0, 1.0] and list(series["rps"]) == [5.0, 100.0, 100.0]
