"""Raw samples of a measurement, read once: the window, time series and throughput bins.

A sample belongs to a measurement's window when the request *completed* inside
``[window_start, window_end]``. Each samples file is parsed once per report (``sample_files``
decides what a sample is): ``digest`` reads it
and computes, in one pass, everything the report takes from it — the window's counts and
latency percentiles, its throughput bins, its time series — then lets the parsed rows go. Only
those small results are cached (by path, modification time and window), so a run of millions
of samples holds one file's rows at a time, whatever number of tables and charts ask.

The requests still in flight when the window ended (the samples' meta file, when the recorder
wrote them) are censored samples of the window's percentiles, and the user column gives each
user's completions (``tails``); files without them give the numbers they always gave. A file of
Locust's distributed mode adds a ``worker`` column, and its user indexes are unique over the
workers already (``locustfiles/distributed.py``), so fairness reads it unchanged.

In the open model (a rate), a sample's latency runs from its intended send time (coordinated
omission corrected) and its ``service_ms`` from the actual send: both are kept (the service
percentiles), with the slope of latency over the window (a queue that grows: overload).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis import arrivals, first_byte, sample_files, send_gaps
from harness.analysis.completions import Completions
from harness.analysis.tails import censored_percentiles, per_user
from harness.results import Measurement, Run
from locustfiles.protocol import IN_FLIGHT_AT_END, LOADGEN_CPU_SHARES

PERCENTILES = (50, 90, 99)
SERIES_BIN_S = 1.0  # the time series' bins (the timeline charts)
SERIES_COLUMNS = ["t", "rps", "errors_per_s", "p50_ms", "p99_ms"]
TIMEOUT = "timed out|Timeout"


@dataclass(frozen=True)
class WindowStats:
    """The measured window of one samples file: counts, and latency over successes."""

    requests: int
    ok: int
    errors: int
    timeouts: int
    mean_ms: float
    max_ms: float
    percentiles: dict[int, float]
    top_error: str
    bad_rows: int
    empty_file: bool
    # the percentiles that are only lower bounds (a censored in-flight request at their rank)
    censored: dict[int, bool] = field(default_factory=dict)
    in_flight: int | None = None  # requests in flight at the window's end; None: not recorded
    oldest_in_flight_ms: float = np.nan
    # successes in the window per user index (0 …); None: the file has no user column
    user_counts: tuple[int, ...] | None = None
    # the open model: percentiles of the service time (from the actual send), and how fast
    # latency grew over the window (ms per s, least squares); NaN in the closed model
    service_percentiles: dict[int, float] = field(default_factory=dict)
    first_byte_percentiles: dict[int, float] = field(default_factory=dict)
    latency_slope_ms_per_s: float = np.nan
    # the distributed mode: each Locust worker's CPU share over the window (the meta file's);
    # () for one process
    loadgen_cpu_shares: tuple[float, ...] = ()


@dataclass(frozen=True)
class Digest:
    """Everything a report takes from one samples file for one window (see ``digest``)."""

    stats: WindowStats
    bins: np.ndarray  # ``bin_rps`` at the window's own bin width
    series: pd.DataFrame  # ``timeseries`` in 1 s bins
    # when the file's requests completed (every endpoint of a mix), for the count rule
    completions: Completions = field(default_factory=lambda: Completions.of(np.zeros(0)))
    # the open model: the longest time in the window without a send (every endpoint of a mix),
    # for the stall rule (``send_gaps``); NaN when no send time was recorded (the closed model)
    send_gap_s: float = np.nan


@dataclass(frozen=True)
class _Rows:
    """The columns of a samples frame the numbers are made of, as arrays."""

    end: np.ndarray
    elapsed: np.ndarray
    error: np.ndarray
    good: np.ndarray  # no error
    user: np.ndarray | None = None  # the sending user's index; None: not recorded
    service: np.ndarray | None = None  # the open model's service time (ms); None: closed
    first_byte: np.ndarray | None = None  # ms to the body's first byte; None: not recorded

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Rows:
        error = frame["error"].to_numpy(dtype=object)
        user = frame["user"].to_numpy(dtype=np.int64) if "user" in frame.columns else None
        return cls(
            frame["end"].to_numpy(dtype=float),
            frame["elapsed_ms"].to_numpy(dtype=float),
            error,
            np.asarray(error == "", dtype=bool),
            user,
            arrivals.service_column(frame),
            first_byte.column(frame),
        )


def load_samples(run_dir: Path, measurement: Measurement) -> pd.DataFrame:
    """All raw samples of a measurement (warm-up included) with ``end`` and ``in_window``.

    Parses the file on every call: the report itself reads samples through ``digest``."""
    if not measurement.samples:
        return sample_files.empty()
    path = run_dir / measurement.samples
    sample_files.stamp(path)  # a missing file is one line naming it, as for ``digest``
    frame = _only(sample_files.read(str(path)), measurement.only)
    frame["in_window"] = (frame["end"] >= measurement.window_start) & (
        frame["end"] <= measurement.window_end
    )
    frame["ok"] = frame["error"] == ""
    return frame


def digest(run_dir: Path, measurement: Measurement) -> Digest:
    """The measurement's window statistics, throughput bins and time series, from one parse of
    its samples file (cached by path, modification time and window)."""
    if not measurement.samples:
        return _digest_of(sample_files.empty(), measurement.window_start, measurement.window_end)
    path = run_dir / measurement.samples
    window = (measurement.window_start, measurement.window_end)
    return _digest(str(path), sample_files.stamp(path), *window, measurement.only)


@functools.lru_cache(maxsize=4096)
def _digest(path: str, stamp: int, window_start: float, window_end: float, only: str) -> Digest:
    """One parse of a samples file (of this version) for one window; the rows are dropped.
    With ``only``, the rows of that endpoint of a mix (its parts share the file's parse)."""
    frame = _parsed(path, stamp) if only else sample_files.read(path)
    in_flight = _in_flight(path, only)
    found = _digest_of(_only(frame, only), window_start, window_end, in_flight)
    found = replace(
        found,
        completions=Completions.of(frame["end"].to_numpy(dtype=float)),
        send_gap_s=send_gaps.window_gap(frame, window_start, window_end),
    )
    shares = _worker_shares(path)
    if not shares:
        return found
    return replace(found, stats=replace(found.stats, loadgen_cpu_shares=shares))


def _worker_shares(path: str) -> tuple[float, ...]:
    """Each Locust worker's CPU share (the distributed mode's meta file), else ()."""
    try:
        doc = json.loads(Path(path).with_suffix(".meta.json").read_text(encoding="utf-8"))
        return tuple(float(x) for x in doc.get(LOADGEN_CPU_SHARES, ()))
    except (OSError, ValueError, TypeError, AttributeError):
        return ()


def _in_flight(path: str, only: str) -> list[float] | None:
    """The start times of the requests in flight at the window's end (of endpoint ``only`` in
    a mix), from the samples' meta file; None when it did not record them."""
    try:
        doc = json.loads(Path(path).with_suffix(".meta.json").read_text(encoding="utf-8"))
        found = doc[IN_FLIGHT_AT_END]
        return [float(item[0]) for item in found if not only or item[1] == only]
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


@functools.lru_cache(maxsize=2)
def _parsed(path: str, stamp: int) -> pd.DataFrame:
    """A mix's file, parsed once for its parts (two files at most are kept)."""
    return sample_files.read(path)


def _only(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one endpoint of a mix (all rows when ``name`` is "")."""
    if not name:
        return frame
    if "name" not in frame.columns:
        return frame.iloc[0:0]
    kept = frame[frame["name"] == name]
    kept.attrs = {**frame.attrs, "bad_rows": 0}  # counted once, on the whole mix
    return kept


def _digest_of(
    frame: pd.DataFrame,
    window_start: float,
    window_end: float,
    in_flight: list[float] | None = None,
) -> Digest:
    rows = _Rows.of(frame)
    return Digest(
        stats=_window_stats(rows, frame.attrs, window_start, window_end, in_flight),
        bins=_bins(rows, window_start, window_end, bin_width(window_end - window_start)),
        series=_series(rows, window_start, window_end, SERIES_BIN_S),
    )


def _window_stats(
    rows: _Rows,
    attrs: Mapping[Any, Any],
    window_start: float,
    window_end: float,
    in_flight: list[float] | None = None,
) -> WindowStats:
    """Requests that completed inside the window; latency over the successful ones, and the
    ones in flight at its end as censored samples (their age)."""
    inside = (rows.end >= window_start) & (rows.end <= window_end)
    ok_ms = pd.Series(rows.elapsed[inside & rows.good], dtype=float)
    errors = pd.Series(rows.error[inside & ~rows.good], dtype=object)
    found = len(ok_ms) > 0
    ages = np.array([(window_end - start) * 1000.0 for start in in_flight or ()], dtype=float)
    tails = censored_percentiles(ok_ms.to_numpy(), ages, PERCENTILES)
    users = None if rows.user is None else per_user(rows.user, inside & rows.good)
    service, slope = arrivals.service_and_growth(
        rows.end, rows.elapsed, rows.service, inside & rows.good
    )
    return WindowStats(
        requests=int(inside.sum()),
        ok=len(ok_ms),
        errors=len(errors),
        timeouts=int(errors.str.contains(TIMEOUT, case=False).sum()) if len(errors) else 0,
        mean_ms=float(ok_ms.mean()) if found else np.nan,
        max_ms=float(ok_ms.max()) if found else np.nan,
        percentiles={p: tails[p].value for p in PERCENTILES},
        top_error=str(errors.mode().iloc[0]) if len(errors) else "",
        bad_rows=int(attrs.get("bad_rows", 0)),
        empty_file=bool(attrs.get("empty_file", False)),
        censored={p: tails[p].censored for p in PERCENTILES},
        in_flight=None if in_flight is None else len(in_flight),
        oldest_in_flight_ms=float(ages.max()) if len(ages) else np.nan,
        user_counts=users,
        service_percentiles=service,
        latency_slope_ms_per_s=slope,
        first_byte_percentiles=first_byte.percentiles(rows.first_byte, inside & rows.good),
    )


def _series(rows: _Rows, window_start: float, window_end: float, bin_s: float) -> pd.DataFrame:
    """Successes, errors and success latency per ``bin_s`` up to the window's last whole bin:
    the sliver a window overshoots its duration by (a sleep wakes late: 3.0004 s) would be a
    bin of a few requests drawn as a collapse to zero."""
    if not len(rows.end):
        return pd.DataFrame(columns=SERIES_COLUMNS)
    whole = np.floor((window_end - window_start) / bin_s + 1e-6) * bin_s
    kept = rows.end <= min(window_end, window_start + whole)
    t, code = np.unique(
        np.floor((rows.end[kept] - window_start) / bin_s) * bin_s, return_inverse=True
    )
    good = rows.good[kept]
    p50, p99 = _median_and_p99(code[good], rows.elapsed[kept][good], len(t))
    return pd.DataFrame(
        {
            "t": t,
            "rps": np.bincount(code[good], minlength=len(t)) / bin_s,
            "errors_per_s": np.bincount(code[~good], minlength=len(t)) / bin_s,
            "p50_ms": p50,
            "p99_ms": p99,
        }
    )


def _median_and_p99(code: np.ndarray, values: np.ndarray, groups: int) -> tuple[Any, Any]:
    """Median and 99th percentile of ``values`` in each group ``0 … groups-1`` (NaN if none),
    computed as pandas' ``groupby(...).median()`` and ``.quantile(0.99)`` do — the middle
    value or the mean of the two middle ones; linear interpolation between the two values
    around rank ``0.99 (n - 1)`` — in one sort instead of a groupby per statistic."""
    ordered = values[np.lexsort((values, code))]
    count = np.bincount(code, minlength=groups)
    has = count > 0
    first, n = (np.cumsum(count) - count)[has], count[has]
    upper, lower = ordered[first + n // 2], ordered[first + np.maximum(n // 2 - 1, 0)]
    median, p99 = np.full(groups, np.nan), np.full(groups, np.nan)
    median[has] = np.where(n % 2 == 1, upper, (upper + lower) / 2)
    rank = 0.99 * (n - 1).astype(float)
    below, frac = rank.astype(np.int64), rank % 1
    low, high = ordered[first + below], ordered[first + np.minimum(below + 1, n - 1)]
    p99[has] = np.where(frac == 0.0, low, low + (high - low) * frac)
    return median, p99


def _bins(rows: _Rows, window_start: float, window_end: float, bin_s: float) -> np.ndarray:
    """Successful completions per second in each whole ``bin_s`` of the window."""
    inside = (rows.end >= window_start) & (rows.end <= window_end) & rows.good
    span = window_end - window_start
    bins = int(span // bin_s)
    if bins < 1:
        return np.array([int(inside.sum()) / span if span > 0 else 0.0])
    index = np.floor((rows.end[inside] - window_start) / bin_s).astype(int)
    counts = np.bincount(index[(index >= 0) & (index < bins)], minlength=bins)
    return counts.astype(float) / bin_s


def timeseries(
    run_dir: Path, measurement: Measurement, bin_s: float = SERIES_BIN_S
) -> pd.DataFrame:
    """Throughput and latency per ``bin_s`` from the first sample; ``t`` is relative to the
    start of the measured window (negative during the warm-up)."""
    if bin_s == SERIES_BIN_S:
        return digest(run_dir, measurement).series.copy()
    rows = _Rows.of(load_samples(run_dir, measurement))
    return _series(rows, measurement.window_start, measurement.window_end, bin_s)


def bin_width(duration_s: float) -> float:
    """1 s bins for windows of 10 s and more; shorter windows still get 10 bins (≥ 0.25 s)."""
    return min(1.0, max(0.25, duration_s / 10))


def bin_rps(run_dir: Path, measurement: Measurement, bin_s: float | None = None) -> np.ndarray:
    """Successful completions per second in each whole bin of the measured window: the batch
    means behind throughput confidence intervals and significance tests."""
    start, end = measurement.window_start, measurement.window_end
    if measurement.status != "ok":
        return np.array([], dtype=float)
    if bin_s is None or bin_s == bin_width(end - start):
        return digest(run_dir, measurement).bins.copy()
    return _bins(_Rows.of(load_samples(run_dir, measurement)), start, end, bin_s)


def bins_by_group(run_dir: Path, run: Run) -> dict[tuple[str, str, int], np.ndarray]:
    """Per-second RPS bins pooled over repeats, keyed by (scenario, endpoint, users); the
    closed model's only (at an offered rate, throughput is what was offered, up to the knee)."""
    pooled: dict[tuple[str, str, int], list[np.ndarray]] = {}
    for m in (m for whole in run.measurements for m in (whole, *run.parts(whole))):
        if m.rate > 0:  # the open model serves what it is offered: no throughput comparison
            continue
        pooled.setdefault((m.scenario, m.endpoint, m.users), []).append(bin_rps(run_dir, m))
    return {key: np.concatenate(parts) for key, parts in pooled.items()}


def bins_by_rate(run_dir: Path, run: Run) -> dict[tuple[str, str, float], np.ndarray]:
    """The open model's per-second RPS bins pooled over repeats, keyed by (scenario, endpoint,
    offered rate): the CI of its achieved rate (never a comparison)."""
    pooled: dict[tuple[str, str, float], list[np.ndarray]] = {}
    for m in (m for whole in run.measurements for m in (whole, *run.parts(whole))):
        if m.rate > 0:
            pooled.setdefault((m.scenario, m.endpoint, m.rate), []).append(bin_rps(run_dir, m))
    return {key: np.concatenate(parts) for key, parts in pooled.items()}
