"""The checks of a run judged against its numbers: one verdict per endpoint and users level.

A metric is read from the analysis table (median over repeats; counts summed), so a check says
what the report shows. A throughput ratio ``A / B`` uses the in-run comparisons' statistics
(batch means of the bins, bootstrap 95 % CI): ``>= x`` passes only when the CI's lower bound is
at least x, ``<= x`` only when its upper bound is at most x, ``== x`` when x lies inside it. A
value that does not exist (no successful request, no prediction) fails and shows "n/a".
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from harness.analysis import stats
from harness.analysis.checks import (
    METRICS,
    NEGATED,
    RATIO,
    SYMBOLS,
    Check,
    CheckError,
    parse_all,
    resolve,
)
from harness.errors import CHECK_FAILED, BenchError
from harness.results import Run

_HOLDS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}


class Judged(Protocol):
    """What the judge reads of an ``Analysis``."""

    @property
    def run(self) -> Run: ...
    @property
    def table(self) -> pd.DataFrame: ...
    @property
    def summary(self) -> pd.DataFrame: ...
    @property
    def bins(self) -> Mapping[tuple[str, str, int], np.ndarray]: ...


@dataclass(frozen=True)
class Result:
    """One check at one place: what was measured, what was asked, and whether it holds."""

    check: str
    where: str  # "sleep / async sleep @ 100 users", "every measurement (6)"
    measured: str  # as shown: "95.0 RPS", "0.95× [0.89, 1.01]", "n/a"
    threshold: str  # as shown: "≥ 900 RPS"
    passed: bool
    why: str
    value: float = math.nan  # the measured number (a ratio's estimate)
    limit: float = math.nan  # the threshold, in the metric's unit
    scenario: str = ""
    endpoint: str = ""
    users: int | None = None
    rate: float | None = None  # the open model's offered rate (requests/s) judged, if any


def show(kind: str, value: float) -> str:
    """A value of a metric as the checks table shows it ("n/a" when it does not exist)."""
    if math.isnan(value):
        return "n/a"
    return {
        "rps": lambda v: f"{v:,.1f} RPS",
        "ms": lambda v: f"{v:,.1f} ms",
        "count": lambda v: f"{v:,.0f}",
        "share": lambda v: f"{v:.2%}".replace("%", " %"),
        "model": lambda v: f"{v:.0%}".replace("%", " %"),
        "ratio": lambda v: f"{v:.2f}×",
    }[kind](value)


def wanted(check: Check) -> str:
    """The threshold as written, in the metric's unit: "≥ 900 RPS", "≤ 300 ms", "≤ 1 %"."""
    v = check.threshold
    number = {
        "rps": f"{v:,.6g} RPS",
        "ms": f"{v:,.6g} ms",
        "count": f"{v:,.0f}",
        "share": f"{v * 100:.6g} %",
        "model": f"{v * 100:.6g} %",
        "ratio": f"{v:.6g}×",
    }[check.kind]
    return f"{SYMBOLS[check.op]} {number}"


def from_run(run: Run) -> list[Check]:
    """The checks saved with a run: its own (``--check``) and each scenario file's, which apply
    to their scenario only."""
    try:
        found = parse_all(run.checks)
        for record in run.scenarios:
            found += parse_all(record.get("checks", []), scope=str(record.get("name", "")))
    except CheckError as exc:
        raise BenchError(f"run {run.run_id}: a saved {exc}") from None
    return found


def judge(analysis: Judged, checks: Sequence[Check]) -> list[Result]:
    """Every check at every users level it applies to (a check that names nothing measured
    fails with the reason)."""
    known = _known(analysis)
    verdicts: list[Result] = []
    for check in checks:
        try:
            if check.metric == RATIO:
                verdicts += _ratios(analysis, check, known)
            elif check.endpoint:
                verdicts += _metrics(analysis, check, known)
            else:
                verdicts.append(_run_wide(analysis, check))
        except CheckError as exc:
            why = str(exc).removeprefix(f"check {check.text!r}: ")
            verdicts.append(_unjudged(check, "–", why))
    return verdicts


def exit_code(verdicts: Sequence[Result]) -> int:
    """0 when every check passed (or there is none), ``CHECK_FAILED`` (1) otherwise."""
    return CHECK_FAILED if any(not v.passed for v in verdicts) else 0


def _known(analysis: Judged) -> dict[str, list[str]]:
    """Labels by scenario: what the table holds and what the run's scenarios meant to measure
    (so a label whose measurement failed is "not measured", not "unknown")."""
    known: dict[str, list[str]] = {}
    for record in analysis.run.scenarios:
        labels = [e["label"] for e in record.get("endpoints", []) if e.get("solo", True)]
        for mix in record.get("mixes", []):
            labels += [mix["label"], *(f"{p[0]} (in {mix['label']})" for p in mix["parts"])]
        known[str(record.get("name", ""))] = labels
    table = analysis.table
    for scenario, endpoint in zip(
        table.get("scenario", []), table.get("endpoint", []), strict=True
    ):
        known.setdefault(scenario, [])
        if endpoint not in known[scenario]:
            known[scenario].append(endpoint)
    return known


def _unjudged(check: Check, where: str, why: str) -> Result:
    """A check with nothing to judge it on: it fails, its value "n/a"."""
    return Result(check.text, where, "n/a", wanted(check), False, why)


def _verdict(check: Check, value: float, passed: bool, **where: Any) -> Result:
    """A verdict on a plain metric; its "why" in words."""
    shown, limit = show(check.kind, value), wanted(check)
    if math.isnan(value):
        why = "no capacity-model prediction" if check.kind == "model" else "no successful request"
    else:
        relation = SYMBOLS[check.op] if passed else NEGATED[check.op]
        why = f"{shown} {relation} {limit.split(' ', 1)[1]}"
    place = _place(
        where.get("scenario", ""), where.get("endpoint", ""), where.get("users"), where.get("rate")
    )
    return Result(check.text, place, shown, limit, passed, why, value, check.threshold, **where)


def _place(scenario: str, endpoint: str, users: int | None, rate: float | None = None) -> str:
    at = f" @ {users} users" if users is not None else ""
    if rate:
        at = f" @ {rate:,g} req/s"
    return f"{scenario} / {endpoint}{at}"


def _metrics(analysis: Judged, check: Check, known: Mapping[str, Sequence[str]]) -> list[Result]:
    scenario, endpoint = resolve(check, check.endpoint, known)
    table = analysis.table
    rows = (
        table[(table["scenario"] == scenario) & (table["endpoint"] == endpoint)]
        if len(table)
        else table
    )
    rates = rows["rate"] if "rate" in rows else pd.Series(0.0, index=rows.index)
    if check.users is not None and len(rows):
        rows = rows[(rows["users"] == check.users) & (rates.fillna(0.0) == 0.0)]
    if check.rate is not None and len(rows):
        rows = rows[rates == check.rate]
    if rows.empty:
        place = _place(scenario, endpoint, check.users, check.rate)
        return [_unjudged(check, place, "not measured in this run")]
    column = METRICS[check.metric].column
    verdicts = []
    for row in rows.itertuples():
        value = _mean_ms(analysis, row) if column == "mean_ms" else float(getattr(row, column))
        passed = not math.isnan(value) and _HOLDS[check.op](value, check.threshold)
        rate = float(getattr(row, "rate", 0.0) or 0.0)
        where: dict[str, Any] = {"scenario": scenario, "endpoint": endpoint}
        where.update({"rate": rate} if rate else {"users": int(row.users)})
        verdicts.append(_verdict(check, value, passed, **where))
    return verdicts


def _mean_ms(analysis: Judged, row: Any) -> float:
    """Mean latency of a table row: the median over its repeats, like its percentiles."""
    s = analysis.summary
    same = (s["scenario"] == row.scenario) & (s["endpoint"] == row.endpoint)
    same &= (s["users"] == row.users) & (s.get("rate", 0.0) == getattr(row, "rate", 0.0))
    values = s[same & (s["status"] == "ok")]["mean_ms"]
    return float(values.median()) if len(values) else math.nan


def _run_wide(analysis: Judged, check: Check) -> Result:
    """errors / timeouts / error_rate over every measurement (a mix counted once, as a whole)."""
    s = analysis.summary
    whole = s[s["mix"] == ""] if "mix" in s else s
    if whole.empty:
        return _unjudged(check, "every measurement (0)", "no measurement in this run")
    errors, requests = float(whole["errors"].sum()), float(whole["requests"].sum())
    value = {
        "errors": errors,
        "timeouts": float(whole["timeouts"].sum()),
        "error_rate": errors / requests if requests else 0.0,
    }[check.metric]
    found = _verdict(check, value, _HOLDS[check.op](value, check.threshold))
    return replace(found, where=f"every measurement ({len(whole)})")


def _ratios(analysis: Judged, check: Check, known: Mapping[str, Sequence[str]]) -> list[Result]:
    a = resolve(check, check.endpoint, known)
    b = resolve(check, check.other, known)
    levels = sorted(
        {k[2] for k in analysis.bins if k[:2] == a} & {k[2] for k in analysis.bins if k[:2] == b}
    )
    if check.users is not None:
        levels = [u for u in levels if u == check.users]
    place = f"{a[0]}: {a[1]} / {b[1]}" if a[0] == b[0] else f"{a[0]}/{a[1]} / {b[0]}/{b[1]}"
    if not levels:
        return [_unjudged(check, place, "no users level measured for both")]
    verdicts = []
    for users in levels:
        ratio = stats.ratio_ci(analysis.bins[(*a, users)], analysis.bins[(*b, users)])
        verdict = _ratio_verdict(check, ratio, f"{place} @ {users} users", users)
        verdicts.append(replace(verdict, scenario=a[0], endpoint=f"{a[1]} / {b[1]}"))
    return verdicts


def _ratio_verdict(check: Check, r: stats.Interval, place: str, users: int) -> Result:
    x, limit = check.threshold, wanted(check)
    if math.isnan(r.estimate):
        shown, passed, why = "n/a", False, "not comparable: no successful request to divide by"
    else:
        shown = f"{r.estimate:.2f}× [{r.low:.2f}, {r.high:.2f}]"
        bound, name = (r.high, "upper") if check.op in ("<=", "<") else (r.low, "lower")
        if check.op == "==":
            passed = r.low <= x <= r.high
            why = f"{x:g} is {'inside' if passed else 'outside'} the 95 % CI"
        else:
            passed = _HOLDS[check.op](bound, x)
            relation = SYMBOLS[check.op] if passed else NEGATED[check.op]
            why = f"{name} bound of the 95 % CI: {bound:.2f} {relation} {x:g}"
    return Result(check.text, place, shown, limit, passed, why, r.estimate, x, users=users)
