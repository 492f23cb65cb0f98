"""Mixed traffic: each endpoint of a mix against itself alone, and who starved whom.

A mix measurement drives several endpoints at once; the table has its combined row and one row
per endpoint ("sync hello (in def mix)"). Here each endpoint's latency in the mix is set beside
its solo measurement (same scenario, same users), and the shared limits are checked with
Little's law on what was measured: a ``def`` endpoint holds a thread-pool token for its service
time, so its measured RPS × service time is the tokens it held on average; blocking code in
``async def`` holds the event loop the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.analysis import capacity, explain
from harness.results import MIX, Run

SLOWER = 1.5  # a p50 this many times its solo figure counts as "slowed down"
SLOWER_TAIL = 3.0  # … or a p99 this many times (a queue that some requests hit)
SATURATED = 0.9  # a shared limit held this full on average is saturated


@dataclass(frozen=True)
class Part:
    """One endpoint of a mix: its share, its figures in the mix, and alone."""

    endpoint: str
    asked_share: float
    measured_share: float
    rps: float
    p50_ms: float
    p99_ms: float
    solo_p50_ms: float  # NaN when the scenario did not measure it alone at these users
    solo_p99_ms: float

    @property
    def p50_ratio(self) -> float:
        return self.p50_ms / self.solo_p50_ms if self.solo_p50_ms > 0 else math.nan

    @property
    def p99_ratio(self) -> float:
        return self.p99_ms / self.solo_p99_ms if self.solo_p99_ms > 0 else math.nan


@dataclass(frozen=True)
class Mixed:
    """A mix at one users level: its endpoints and why they behaved as they did."""

    scenario: str
    mix: str
    users: int
    rps: float
    parts: tuple[Part, ...]
    sentence: str


def mixes(run: Run, table: pd.DataFrame) -> list[Mixed]:
    """Every mix of the run, in table order."""
    if table.empty or "mix" not in table.columns:
        return []
    records = {s["name"]: s for s in run.scenarios}
    found = []
    for row in table[table["variant"] == MIX].itertuples():
        record = records.get(row.scenario, {})
        weights = _weights(record, row.endpoint)
        rows = table[
            (table["scenario"] == row.scenario)
            & (table["mix"] == row.endpoint)
            & (table["users"] == row.users)
        ]
        parts = tuple(_part(table, row, part, weights) for part in rows.itertuples())
        sentence = _sentence(run, record, row, rows, parts)
        found.append(Mixed(row.scenario, row.endpoint, int(row.users), row.rps, parts, sentence))
    return found


def _weights(record: dict[str, Any], label: str) -> dict[str, float]:
    empty: dict[str, Any] = {"parts": []}
    mix = next((m for m in record.get("mixes", []) if m["label"] == label), empty)
    total = sum(float(w) for _, w in mix["parts"]) or 1.0
    return {str(name): float(w) / total for name, w in mix["parts"]}


def _part(table: pd.DataFrame, mixed: Any, row: Any, weights: dict[str, float]) -> Part:
    solo = table[
        (table["scenario"] == row.scenario)
        & (table["endpoint"] == row.part)
        & (table["users"] == row.users)
        & (table["mix"] == "")
    ]
    first = solo.iloc[0] if len(solo) else None
    return Part(
        endpoint=row.part,
        asked_share=weights.get(row.part, math.nan),
        measured_share=row.requests / mixed.requests if mixed.requests else math.nan,
        rps=row.rps,
        p50_ms=row.p50_ms,
        p99_ms=row.p99_ms,
        solo_p50_ms=float(first["p50_ms"]) if first is not None else math.nan,
        solo_p99_ms=float(first["p99_ms"]) if first is not None else math.nan,
    )


Held = dict[str, list[tuple[str, float, float]]]  # kind → (endpoint, held on average, service s)


def _held(run: Run, record: dict[str, Any], rows: pd.DataFrame) -> Held:
    """What each part held on average by Little's law: (endpoint, held, service s), by kind."""
    names = {
        **explain.flatten(record.get("app", {}).get("extra", {})),
        **{k: float(v) for k, v in record.get("parameters", {}).items() if _number(v)},
    }
    held: Held = {"threadpool": [], "serial": []}
    for row in rows.itertuples():
        model = run.model(row.scenario, row.part)
        kind = model.get("concurrency", "")
        if kind not in held:
            continue
        try:
            service_ms = capacity.evaluate(str(model.get("service_ms", "0")), names)
            service_ms *= capacity.evaluate(str(model.get("calls", "1")), names)
        except capacity.ModelError:
            continue
        held[kind].append((row.part, row.rps * service_ms / 1000.0, service_ms / 1000.0))
    return held


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sentence(
    run: Run, record: dict[str, Any], mixed: Any, rows: pd.DataFrame, parts: tuple[Part, ...]
) -> str:
    where = f"{mixed.endpoint} @ {mixed.users} users"
    slowed = [p for p in parts if p.p50_ratio >= SLOWER or p.p99_ratio >= SLOWER_TAIL]
    if not slowed:
        measured = [p for p in parts if not math.isnan(p.p50_ratio)]
        if not measured:
            return f"{where}: no endpoint of the mix was measured alone at these users"
        return (
            f"{where}: no endpoint slowed down beside the others (p50 within {SLOWER:g}×, "
            f"p99 within {SLOWER_TAIL:g}× of alone)"
        )
    victim = max(slowed, key=lambda p: max(p.p50_ratio, p.p99_ratio))
    others = ", ".join(p.endpoint for p in parts if p is not victim)
    p50 = f"p50 {victim.solo_p50_ms:,.1f} → {victim.p50_ms:,.1f} ms"
    p99 = f"p99 {victim.solo_p99_ms:,.0f} → {victim.p99_ms:,.0f} ms"
    if victim.p50_ratio >= victim.p99_ratio:
        what = f"p50 rose {victim.p50_ratio:,.1f}× ({p50}; {p99})"
    else:
        what = f"p99 rose {victim.p99_ratio:,.1f}× ({p99}; {p50})"
    head = f"{where}: {victim.endpoint}'s {what} beside {others}"
    return f"{head} — {_cause(run, record, mixed, rows)}"


def _cause(run: Run, record: dict[str, Any], mixed: Any, rows: pd.DataFrame) -> str:
    held = _held(run, record, rows)
    tokens = explain.context_for(record, run, None).threadpool_tokens
    pool = sum(h for _, h, _ in held["threadpool"])
    busy = getattr(mixed, "threadpool_busy_max", math.nan)
    seen = f"; the server saw up to {busy:g} tokens busy" if not math.isnan(busy) else ""
    if pool >= SATURATED * tokens and held["threadpool"]:
        name, h, service = max(held["threadpool"], key=lambda item: item[1])
        return (
            f"the thread pool was full: the def calls held {pool:.1f} of {tokens:g} tokens on "
            f"average (Little's law: {name} alone {h / service:,.1f} RPS × {service:.3g} s = "
            f"{h:.1f}){seen}, so each def request waited for a token"
        )
    loop = sum(h for _, h, _ in held["serial"])
    if loop >= 0.5 and held["serial"]:
        name, h, service = max(held["serial"], key=lambda item: item[1])
        return (
            f"{name} held the event loop {min(loop, 1.0):.0%} of the time (Little's law: "
            f"{h / service:,.1f} RPS × {service:.3g} s): every request of this worker waited"
        )
    cpu = getattr(mixed, "app_cpu_share", math.nan)
    cpu_text = f"the app's CPU was {cpu:.0%} busy" if not math.isnan(cpu) else "CPU not recorded"
    return f"no shared limit was full (thread pool {pool:.1f} of {tokens:g} tokens); {cpu_text}"
