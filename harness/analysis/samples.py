"""Raw samples of a measurement, read once: the window, time series and throughput bins.

A sample belongs to a measurement's window when the request *completed* inside
``[window_start, window_end]``. Each samples file is parsed once per report (cached by path and
modification time), whatever number of tables and charts read it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import BenchError
from harness.results import Measurement, Run
from locustfiles.protocol import SAMPLE_COLUMNS

REQUIRED = frozenset(SAMPLE_COLUMNS) - {"bytes"}


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
    """One parse per samples file and version (a report reads each file several times).

    Rows that are not samples (garbage, a last row cut short by a crash) are dropped and
    counted in ``frame.attrs["bad_rows"]``; an empty file is a measurement with no sample."""
    try:
        frame = pd.read_csv(
            path,
            dtype={"error": "string"},
            keep_default_na=False,
            engine="c",
            on_bad_lines="skip",
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(SAMPLE_COLUMNS))
        frame.attrs["bad_rows"] = 0
        frame.attrs["empty_file"] = True
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: unreadable samples ({exc})") from None
    missing = REQUIRED - set(frame.columns)
    if missing:
        raise BenchError(f"{path}: samples lack column(s) {', '.join(sorted(missing))}")
    return _clean(frame, _data_lines(path))


def _data_lines(path: str) -> int:
    """Rows below the header (a last row without its newline counts too)."""
    newlines, last = 0, b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            newlines, last = newlines + chunk.count(b"\n"), chunk[-1:]
    return max(0, newlines + (last != b"\n") - 1)


def _clean(frame: pd.DataFrame, lines: int) -> pd.DataFrame:
    """Numbers where numbers belong; a row without a start, a response time and a status is
    not a sample (garbage, or a last row cut short)."""
    for column in ("start", "elapsed_ms", "status"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    kept = frame.dropna(subset=["start", "elapsed_ms", "status"]).copy()
    kept["status"] = kept["status"].astype(int)
    kept["error"] = kept["error"].fillna("").astype(str)
    kept["end"] = kept["start"] + kept["elapsed_ms"] / 1000.0
    kept.attrs = {**frame.attrs, "bad_rows": lines - len(kept)}
    return kept


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
