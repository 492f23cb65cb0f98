"""Server shapes side by side: the same endpoint at the same users, served two ways.

A scenario with a matrix (``[matrix] workers = [1, 2]``, or ``bench run --workers 1,2``) is run
once per combination, each a scenario of its own (``sleep-w1``, ``sleep-w2``) with its shape in
its record. Here every combination is set against the first one (the matrix's first values):
the throughput ratio with its 95 % CI and a verdict, from the same per-second bins as every other
comparison, beside what the capacity model expected the ratio to be.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis import stats
from harness.results import Measurement, Run
from harness.server_samples import load_metrics, load_metrics_base

Bins = Mapping[tuple[str, str, int], np.ndarray]
DIMENSIONS = ("server", "workers", "loop", "http")


@dataclass(frozen=True)
class ShapeComparison:
    base: str  # the scenario as its file names it
    endpoint: str
    users: int
    a: str  # the shape set against the reference, in words ("2 workers")
    b: str  # the reference shape
    rps_a: float
    rps_b: float
    ratio: float
    low: float
    high: float
    p: float
    verdict: str
    expected: float  # the capacity model's ratio (NaN when either is not modelled)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def groups(run: Run) -> dict[str, list[dict[str, Any]]]:
    """The scenario records of each matrix, by base name, in the order they ran (only bases
    measured with two shapes or more)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for record in run.scenarios:
        if record.get("base"):
            found.setdefault(str(record["base"]), []).append(record)
    return {base: records for base, records in found.items() if len(records) > 1}


def differences(records: list[dict[str, Any]]) -> list[str]:
    """The dimensions in which these records' shapes differ."""
    servers = [r.get("server", {}) for r in records]
    return [d for d in DIMENSIONS if len({str(s.get(d)) for s in servers}) > 1]


def describe(server: Mapping[str, Any], dimensions: list[str]) -> str:
    """The varying dimensions of one shape in words: ``2 workers, uvloop``."""
    parts = []
    for d in dimensions:
        value = server.get(d)
        if d == "workers":
            parts.append(f"{value} worker{'s' if value != 1 else ''}")
        elif d in ("loop", "http") and value == "auto":
            parts.append(f"{d} auto ({server.get(f'{d}_used', '?')})")
        else:
            parts.append(str(value))
    return ", ".join(parts)


def comparisons(run: Run, table: pd.DataFrame, bins: Bins) -> list[ShapeComparison]:
    """Every shape of every matrix against the first, per endpoint and users level."""
    out: list[ShapeComparison] = []
    if not len(table):
        return out
    for base, records in groups(run).items():
        varying = differences(records)
        reference, *others = records
        for other in others:
            out += _pair(table, bins, base, (other, reference), varying)
    return out


def _pair(
    table: pd.DataFrame,
    bins: Bins,
    base: str,
    records: tuple[dict[str, Any], dict[str, Any]],
    varying: list[str],
) -> list[ShapeComparison]:
    other, reference = records
    a_name, b_name = str(other["name"]), str(reference["name"])
    a_label = describe(other.get("server", {}), varying)
    b_label = describe(reference.get("server", {}), varying)
    rows_a = table[table["scenario"] == a_name].set_index(["endpoint", "users"])
    rows_b = table[table["scenario"] == b_name].set_index(["endpoint", "users"])
    out = []
    for key in rows_a.index.intersection(rows_b.index):
        endpoint, users = str(key[0]), int(key[1])
        xa, xb = bins.get((a_name, endpoint, users)), bins.get((b_name, endpoint, users))
        if xa is None or xb is None:
            continue
        result = stats.compare_bins(f"{endpoint} ({a_label})", xa, f"with {b_label}", xb)
        ra, rb = rows_a.loc[key], rows_b.loc[key]
        out.append(
            ShapeComparison(
                base=base,
                endpoint=endpoint,
                users=users,
                a=a_label,
                b=b_label,
                rps_a=float(ra["rps"]),
                rps_b=float(rb["rps"]),
                ratio=result.ratio.estimate,
                low=result.ratio.low,
                high=result.ratio.high,
                p=result.p_value,
                verdict=result.verdict(),
                expected=_expected(ra, rb),
            )
        )
    return out


def _expected(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.get("predicted_rps", math.nan), b.get("predicted_rps", math.nan)
    try:
        return float(pa) / float(pb) if float(pb) > 0 else math.nan
    except (TypeError, ValueError):
        return math.nan


def balance(run_dir: Path, run: Run) -> list[str]:
    """How the requests spread over several workers in each measurement (the kernel hands each
    new connection to whichever worker accepts it first, so a closed model's N connections need
    not split evenly — and a blocked worker's share tells)."""
    several = {
        str(r["name"]) for r in run.scenarios if int(r.get("server", {}).get("workers", 1)) > 1
    }
    out = []
    for m in run.measurements:
        if m.status != "ok" or m.scenario not in several:
            continue
        shares = worker_shares(run_dir, m)
        if len(shares) > 1:
            each = " / ".join(f"{share:.0%}" for share in shares)
            out.append(
                f"{m.scenario} / {m.endpoint} @ {m.level}: the {len(shares)} workers served "
                f"{each} of its requests"
            )
    return out


def worker_shares(run_dir: Path, m: Measurement) -> list[float]:
    """Each worker's share of the requests served in the measured window: its own rate between
    the snapshot nearest the window's start and the one nearest its end (not the warm-up, nor
    the backlog a blocked worker drains after the load stops); [] with one worker."""
    series = load_metrics(run_dir, m)
    base = load_metrics_base(run_dir, m)
    points = [s for s in ([base] if base is not None else []) + series if s.worker_requests]
    if len(points) < 2:
        return []
    first = min(points, key=lambda s: abs(s.t - m.window_start))
    last = min(points, key=lambda s: abs(s.t - m.window_end))
    if last.t <= first.t or len(last.worker_requests) < 2:
        return []
    rates = {}  # each worker's own rate, over the times it answered at
    for pid, (t1, n1) in last.worker_requests.items():
        t0, n0 = first.worker_requests.get(pid, (first.t, 0))
        rates[pid] = (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0
    total = sum(rates.values())
    return [rates[pid] / total for pid in sorted(rates)] if total > 0 else []


def lines(found: list[ShapeComparison]) -> list[str]:
    """One line each: ``sleep: sync sleep @ 200 users, 2 workers vs 1 worker: 1.98×
    [1.93, 2.03] (model 2.00×) — …``."""
    out = []
    for c in found:
        model = f" (model {c.expected:.2f}×)" if math.isfinite(c.expected) else ""
        out.append(
            f"{c.base}: {c.endpoint} @ {c.users} users, {c.a} vs {c.b}: "
            f"{c.rps_a:,.1f} vs {c.rps_b:,.1f} RPS, {c.ratio:.2f}× "
            f"[{c.low:.2f}, {c.high:.2f}]{model} — {c.verdict}"
        )
    return out
