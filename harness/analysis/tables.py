"""Per-measurement summaries computed from raw samples (pandas), never from Locust's buckets.

Throughput counts successful completions inside the window (errors are counted separately and
shown, never dropped); percentiles are exact, over successful requests. The numbers of a
measurement's samples come from ``samples.digest`` (one parse of its file). The server's side of
each measurement comes from its ``ServerSample`` series. The requests in flight at the window's
end are censored samples of the percentiles (``pNN_censored``: the value is a lower bound), and
the users' completions give the fairness columns (``tails``; NaN when the run did not record).

The open model (``rate`` > 0: requests sent on a schedule) has its offered rate beside the
achieved one (``rps``), its latency from the intended send (the percentiles) and its service
time (``service_p50_ms``, ``service_p99_ms``), the sends that left late or not at all, and is
``overloaded`` when it served clearly less than offered, dropped sends, or its latency kept
growing over the window: then its percentiles are not a steady value, and ``queue_growth``
(offered − achieved, requests/s) says how fast the queue grew.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis.samples import PERCENTILES, WindowStats, digest
from harness.analysis.tails import Fairness
from harness.results import Measurement, Run
from harness.server_samples import ServerSample, load_metrics

SATURATED_SHARE = 0.90
KEYS = ["scenario", "endpoint", "variant", "users", "rate"]
# the open model is overloaded when it served less than this share of the offered rate, or its
# latency grew by more than GROWTH_MS over the window (and by more than the service time)
SERVED_SHARE = 0.95
GROWTH_MS = 50.0


def summarize_measurement(run_dir: Path, measurement: Measurement, mix: str = "") -> dict[str, Any]:
    found = digest(run_dir, measurement).stats
    duration = measurement.window_end - measurement.window_start or measurement.duration_s
    row: dict[str, Any] = {
        "id": measurement.id,
        "scenario": measurement.scenario,
        "endpoint": measurement.endpoint,
        "variant": measurement.variant,
        "path": measurement.path,
        "users": measurement.users,
        "rate": float(measurement.rate),
        "late": measurement.late,
        "dropped": measurement.dropped,
        "repeat": measurement.repeat,
        "status": measurement.status,
        "requests": found.requests,
        "ok": found.ok,
        "errors": found.errors,
        "timeouts": found.timeouts,
        "error_rate": found.errors / found.requests if found.requests else 0.0,
        "rps": found.ok / duration if duration > 0 else 0.0,
        "duration_s": duration,
        "mean_ms": found.mean_ms,
        "max_ms": found.max_ms,
        "loadgen_cpu_share": measurement.loadgen_cpu_share,
        # Locust's distributed mode: each worker's share, "31% / 29%" ("" for one process)
        "loadgen_cpu_workers": " / ".join(f"{x:.0%}" for x in found.loadgen_cpu_shares),
        "loadgen_saturated": measurement.loadgen_cpu_share > SATURATED_SHARE
        or measurement.loadgen_cpu_warning,
        "top_error": found.top_error,
        "bad_rows": found.bad_rows,
        "empty_file": found.empty_file,
        "samples_file": measurement.samples,
        "mix": mix,  # for an endpoint's share of a mix: the mix's label
        "part": measurement.only,
    }
    for p in PERCENTILES:
        row[f"p{p}_ms"] = found.percentiles[p]
        row[f"p{p}_censored"] = found.censored.get(p, False)
    row["first_byte_p50_ms"] = found.first_byte_percentiles.get(50, np.nan)
    row["first_byte_p99_ms"] = found.first_byte_percentiles.get(99, np.nan)
    row["service_p50_ms"] = found.service_percentiles.get(50, np.nan)
    row["service_p99_ms"] = found.service_percentiles.get(99, np.nan)
    row["latency_growth_ms"] = found.latency_slope_ms_per_s * duration
    row.update(_tails(found, 0 if measurement.rate else measurement.users))
    row.update(_server_signals(load_metrics(run_dir, measurement), measurement))
    return row


def _tails(found: WindowStats, users: int) -> dict[str, Any]:
    """In flight at the window's end (count, the oldest's age) and the users' completions
    (``users`` 0: the open model, which has no users)."""
    fair = None if found.user_counts is None or not users else Fairness.of(found.user_counts, users)
    return {
        "in_flight_at_end": np.nan if found.in_flight is None else float(found.in_flight),
        "oldest_in_flight_ms": found.oldest_in_flight_ms,
        "user_min": np.nan if fair is None else float(fair.min),
        "user_median": np.nan if fair is None else fair.median,
        "user_max": np.nan if fair is None else float(fair.max),
        "user_cv": np.nan if fair is None else fair.cv,
        "users_idle": np.nan if fair is None else fair.idle,
        "user_dispersion": np.nan if fair is None else fair.dispersion,
    }


def pool_full_s(series: list[ServerSample], start: float, end: float) -> float:
    """How long in [start, end] the thread pool had every token in use: the poll intervals in
    which the tokens in use averaged within one token of the pool's size, per worker (a token
    is free for a moment while the loop hands it to the next queued call; NaN:
    no gauge)."""
    points = sorted(series, key=lambda s: s.t)
    full = 0.0
    seen = False
    for a, b in zip(points, points[1:], strict=False):
        if math.isnan(b.threadpool_busy_mean) or math.isnan(b.threadpool_total):
            continue
        seen = True
        overlap = min(b.t, end) - max(a.t, start)
        if overlap > 0 and b.threadpool_busy_mean >= b.threadpool_total - b.workers:
            full += overlap
    return full if seen else math.nan


def _server_signals(series: list[ServerSample], m: Measurement) -> dict[str, Any]:
    inside = [s for s in series if m.window_start <= s.t <= m.window_end + 0.5]
    out: dict[str, Any] = {
        "loop_lag_max_ms": np.nan,
        "loop_lag_mean_ms": np.nan,
        "threadpool_busy_max": np.nan,
        "app_cpu_share": np.nan,
        "app_rss_mb": np.nan,
        "pool_full_s": np.nan,
    }
    if not inside:
        return out
    out["pool_full_s"] = pool_full_s(series, m.window_start, m.window_end)
    out["loop_lag_max_ms"] = max(s.loop_lag_max_ms for s in inside)
    out["loop_lag_mean_ms"] = float(np.mean([s.loop_lag_mean_ms for s in inside]))
    busy = [s.threadpool_busy_max for s in inside if not math.isnan(s.threadpool_busy_max)]
    out["threadpool_busy_max"] = max(busy) if busy else np.nan
    out["app_rss_mb"] = inside[-1].rss_bytes / 2**20
    first, last = inside[0], inside[-1]
    if len(inside) >= 2 and last.t > first.t:
        out["app_cpu_share"] = (last.cpu_s - first.cpu_s) / (last.t - first.t)
    return out


def summarize(run_dir: Path, run: Run) -> pd.DataFrame:
    """One row per measurement, in run order; a mix's row is followed by one per endpoint."""
    rows = []
    for whole in run.measurements:
        rows.append(summarize_measurement(run_dir, whole))
        rows += [summarize_measurement(run_dir, p, whole.endpoint) for p in run.parts(whole)]
    return pd.DataFrame(rows)


def aggregate(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario × endpoint × users: median over repeats and the spread."""
    if summary.empty:
        return summary
    ok = summary[summary["status"] == "ok"]
    grouped = ok.groupby(KEYS, sort=False)
    table = grouped.agg(
        repeats=("rps", "size"),
        rps=("rps", "median"),
        rps_min=("rps", "min"),
        rps_max=("rps", "max"),
        rps_std=("rps", "std"),
        p50_ms=("p50_ms", "median"),
        p90_ms=("p90_ms", "median"),
        p99_ms=("p99_ms", "median"),
        max_ms=("max_ms", "max"),
        p50_censored=("p50_censored", "any"),
        p90_censored=("p90_censored", "any"),
        p99_censored=("p99_censored", "any"),
        in_flight_at_end=("in_flight_at_end", "max"),
        oldest_in_flight_ms=("oldest_in_flight_ms", "max"),
        user_min=("user_min", "min"),
        user_median=("user_median", "median"),
        user_max=("user_max", "max"),
        user_cv=("user_cv", "median"),
        users_idle=("users_idle", "max"),
        user_dispersion=("user_dispersion", "median"),
        requests=("requests", "sum"),
        errors=("errors", "sum"),
        timeouts=("timeouts", "sum"),
        loadgen_cpu_share=("loadgen_cpu_share", "max"),
        loadgen_cpu_workers=("loadgen_cpu_workers", "first"),
        loadgen_saturated=("loadgen_saturated", "any"),
        loop_lag_max_ms=("loop_lag_max_ms", "max"),
        loop_lag_mean_ms=("loop_lag_mean_ms", "median"),
        threadpool_busy_max=("threadpool_busy_max", "max"),
        app_cpu_share=("app_cpu_share", "median"),
        app_rss_mb=("app_rss_mb", "median"),
        pool_full_s=("pool_full_s", "median"),
        duration_s=("duration_s", "median"),
        mix=("mix", "first"),
        part=("part", "first"),
        late=("late", "sum"),
        dropped=("dropped", "sum"),
        first_byte_p50_ms=("first_byte_p50_ms", "median"),
        first_byte_p99_ms=("first_byte_p99_ms", "median"),
        service_p50_ms=("service_p50_ms", "median"),
        service_p99_ms=("service_p99_ms", "median"),
        latency_growth_ms=("latency_growth_ms", "max"),
    ).reset_index()
    table["rps_std"] = table["rps_std"].fillna(0.0)
    table["rps_cv"] = np.where(table["rps"] > 0, table["rps_std"] / table["rps"], 0.0)
    table["error_rate"] = np.where(table["requests"] > 0, table["errors"] / table["requests"], 0.0)
    return overload(table)


def overload(table: pd.DataFrame) -> pd.DataFrame:
    """The open model's rows: overloaded (served < 95 % of the offered rate, sends dropped, or
    latency grew by > 50 ms and more than the median service time over the window) and the
    queue's growth, offered − achieved (requests/s); False and 0 for the closed model."""
    open_model = table["rate"] > 0
    short = table["rps"] < SERVED_SHARE * table["rate"]
    growth = table["latency_growth_ms"].fillna(0.0)
    grew = (growth > GROWTH_MS) & (growth > table["service_p50_ms"].fillna(0.0))
    overloaded = open_model & (short | (table["dropped"] > 0) | grew)
    return table.assign(
        overloaded=overloaded,
        queue_growth=np.where(overloaded, np.maximum(table["rate"] - table["rps"], 0.0), 0.0),
    )
