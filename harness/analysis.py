"""Per-measurement summaries computed from raw samples (pandas), never from Locust's buckets.

A sample belongs to a measurement's window when the request *completed* inside
``[window_start, window_end]``; throughput counts successful completions (errors are counted
separately and shown, never dropped); percentiles are exact, over successful requests.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import BenchError
from harness.results import Measurement, Run

PERCENTILES = (50, 90, 99)
SATURATED_SHARE = 0.90
KEYS = ["scenario", "endpoint", "variant", "users"]


def load_samples(run_dir: Path, measurement: Measurement) -> pd.DataFrame:
    """All raw samples of a measurement (warm-up included) with ``end`` and ``in_window``."""
    if not measurement.samples:
        return _empty_samples()
    path = run_dir / measurement.samples
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise BenchError(f"{path}: unreadable samples ({exc.strerror or exc})") from None
    frame = _read_samples(str(path), stamp).copy()
    frame["in_window"] = (frame["end"] >= measurement.window_start) & (
        frame["end"] <= measurement.window_end
    )
    frame["ok"] = frame["error"] == ""
    return frame


@functools.lru_cache(maxsize=64)
def _read_samples(path: str, stamp: int) -> pd.DataFrame:
    """One parse per samples file and version (a report reads each file several times)."""
    try:
        frame = pd.read_csv(path, dtype={"error": "string"}, keep_default_na=False,
                            engine="c")  # fmt: skip
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: unreadable samples ({exc})") from None
    missing = {"start", "elapsed_ms", "status", "error"} - set(frame.columns)
    if missing:
        raise BenchError(f"{path}: samples lack column(s) {', '.join(sorted(missing))}")
    frame["error"] = frame["error"].fillna("").astype(str)
    frame["end"] = frame["start"] + frame["elapsed_ms"] / 1000.0
    return frame


def _empty_samples() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(dtype=t)
            for c, t in [
                ("start", float),
                ("elapsed_ms", float),
                ("status", int),
                ("error", str),
                ("end", float),
                ("in_window", bool),
                ("ok", bool),
            ]
        }
    )


def load_metrics(run_dir: Path, measurement: Measurement) -> list[dict[str, Any]]:
    path = run_dir / measurement.metrics
    if not measurement.metrics or not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BenchError(f"{path}: unreadable server metrics ({exc})") from None
    series: list[dict[str, Any]] = doc.get("series", [])
    return series


def summarize_measurement(run_dir: Path, measurement: Measurement) -> dict[str, Any]:
    frame = load_samples(run_dir, measurement)
    window = frame[frame["in_window"]]
    ok = window[window["ok"]]
    errors = window[~window["ok"]]
    duration = measurement.window_end - measurement.window_start or measurement.duration_s
    row: dict[str, Any] = {
        "id": measurement.id,
        "scenario": measurement.scenario,
        "endpoint": measurement.endpoint,
        "variant": measurement.variant,
        "path": measurement.path,
        "users": measurement.users,
        "repeat": measurement.repeat,
        "status": measurement.status,
        "requests": len(window),
        "ok": len(ok),
        "errors": len(errors),
        "timeouts": int(errors["error"].str.contains("timed out|Timeout", case=False).sum()),
        "error_rate": len(errors) / len(window) if len(window) else 0.0,
        "rps": len(ok) / duration if duration > 0 else 0.0,
        "duration_s": duration,
        "mean_ms": float(ok["elapsed_ms"].mean()) if len(ok) else np.nan,
        "max_ms": float(ok["elapsed_ms"].max()) if len(ok) else np.nan,
        "loadgen_cpu_share": measurement.loadgen_cpu_share,
        "loadgen_saturated": measurement.loadgen_cpu_share > SATURATED_SHARE
        or measurement.loadgen_cpu_warning,
        "top_error": errors["error"].mode().iloc[0] if len(errors) else "",
    }
    for p in PERCENTILES:
        row[f"p{p}_ms"] = float(np.percentile(ok["elapsed_ms"], p)) if len(ok) else np.nan
    row.update(_server_signals(load_metrics(run_dir, measurement), measurement))
    return row


def _server_signals(series: list[dict[str, Any]], m: Measurement) -> dict[str, Any]:
    inside = [s for s in series if m.window_start <= s["t"] <= m.window_end + 0.5]
    out: dict[str, Any] = {
        "loop_lag_max_ms": np.nan,
        "loop_lag_mean_ms": np.nan,
        "threadpool_busy_max": np.nan,
        "app_cpu_share": np.nan,
        "app_rss_mb": np.nan,
    }
    if not inside:
        return out
    out["loop_lag_max_ms"] = max(s["loop_lag_ms"]["max"] for s in inside)
    out["loop_lag_mean_ms"] = float(np.mean([s["loop_lag_ms"]["mean"] for s in inside]))
    busy = [s["gauges"].get("threadpool_borrowed", {}).get("max") for s in inside]
    busy = [b for b in busy if b is not None]
    out["threadpool_busy_max"] = max(busy) if busy else np.nan
    out["app_rss_mb"] = inside[-1]["rss_bytes"] / 2**20
    if len(inside) >= 2 and inside[-1]["t"] > inside[0]["t"]:
        out["app_cpu_share"] = (inside[-1]["cpu_s"] - inside[0]["cpu_s"]) / (
            inside[-1]["t"] - inside[0]["t"]
        )
    return out


def summarize(run_dir: Path, run: Run) -> pd.DataFrame:
    """One row per measurement, in run order."""
    rows = [summarize_measurement(run_dir, m) for m in run.measurements]
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
        requests=("requests", "sum"),
        errors=("errors", "sum"),
        timeouts=("timeouts", "sum"),
        loadgen_cpu_share=("loadgen_cpu_share", "max"),
        loadgen_saturated=("loadgen_saturated", "any"),
        loop_lag_max_ms=("loop_lag_max_ms", "max"),
        loop_lag_mean_ms=("loop_lag_mean_ms", "median"),
        threadpool_busy_max=("threadpool_busy_max", "max"),
        app_cpu_share=("app_cpu_share", "median"),
    ).reset_index()
    table["rps_std"] = table["rps_std"].fillna(0.0)
    table["rps_cv"] = np.where(table["rps"] > 0, table["rps_std"] / table["rps"], 0.0)
    table["error_rate"] = np.where(table["requests"] > 0, table["errors"] / table["requests"], 0.0)
    return table


def timeseries(run_dir: Path, measurement: Measurement, bin_s: float = 1.0) -> pd.DataFrame:
    """Throughput and latency per ``bin_s`` from the first sample; ``t`` is relative to the
    start of the measured window (negative during the warm-up)."""
    frame = load_samples(run_dir, measurement)
    if frame.empty:
        return pd.DataFrame(columns=["t", "rps", "errors_per_s", "p50_ms", "p99_ms"])
    origin = measurement.window_start
    frame = frame[frame["end"] <= measurement.window_end]
    frame = frame.assign(bin=np.floor((frame["end"] - origin) / bin_s) * bin_s)
    grouped = frame.groupby("bin")
    latency = frame[frame["ok"]].groupby("bin")["elapsed_ms"]  # successes only, as summarize
    out = pd.DataFrame(
        {
            "rps": grouped["ok"].sum() / bin_s,
            "errors_per_s": (~frame["ok"]).groupby(frame["bin"]).sum() / bin_s,
            "p50_ms": latency.median(),
            "p99_ms": latency.quantile(0.99),
        }
    )
    return out.reset_index().rename(columns={"bin": "t"})


def bin_width(duration_s: float) -> float:
    """1 s bins for windows of 10 s and more; shorter windows still get 10 bins (≥ 0.25 s)."""
    return min(1.0, max(0.25, duration_s / 10))


def bin_rps(run_dir: Path, measurement: Measurement, bin_s: float | None = None) -> np.ndarray:
    """Successful completions per second in each whole bin of the measured window: the batch
    means behind throughput confidence intervals and significance tests."""
    if bin_s is None:
        bin_s = bin_width(measurement.window_end - measurement.window_start)
    if measurement.status != "ok":
        return np.array([], dtype=float)
    frame = load_samples(run_dir, measurement)
    window = frame[frame["in_window"] & frame["ok"]]
    span = measurement.window_end - measurement.window_start
    bins = int(span // bin_s)
    if bins < 1:
        return np.array([len(window) / span if span > 0 else 0.0])
    index = np.floor((window["end"].to_numpy() - measurement.window_start) / bin_s).astype(int)
    counts = np.bincount(index[(index >= 0) & (index < bins)], minlength=bins)
    return counts.astype(float) / bin_s


def bins_by_group(run_dir: Path, run: Run) -> dict[tuple[str, str, int], np.ndarray]:
    """Per-second RPS bins pooled over repeats, keyed by (scenario, endpoint, users)."""
    pooled: dict[tuple[str, str, int], list[np.ndarray]] = {}
    for m in run.measurements:
        pooled.setdefault((m.scenario, m.endpoint, m.users), []).append(bin_rps(run_dir, m))
    return {key: np.concatenate(parts) for key, parts in pooled.items()}
