"""The run in a few sentences: who leads each scenario, the biggest differences, one plain
sentence per endpoint."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from harness.analysis import first_byte
from harness.analysis.formatting import fmt


def headlines_for(table: pd.DataFrame) -> list[str]:
    """One line per scenario at its highest users level: who leads, by how much."""
    lines = []
    for scenario in dict.fromkeys(table["scenario"]):
        data = table[table["scenario"] == scenario]
        top = data[data["users"] == data["users"].max()].sort_values("rps", ascending=False)
        if top.empty:
            continue
        best = top.iloc[0]
        parts = [
            f"{r.endpoint} {r.rps:,.0f} RPS (p99 {fmt('{:,.0f}', r.p99_ms)} ms)"
            for r in top.itertuples()
        ]
        lead = ""
        if len(top) > 1 and top.iloc[-1]["rps"] > 0:
            worst = top.iloc[-1]
            lead = (
                f" — {best['endpoint']} serves {best['rps'] / worst['rps']:.2f}× the throughput"
                f" of {worst['endpoint']}"
            )
        lines.append(f"{scenario} at {int(best['users'])} users: {', '.join(parts)}{lead}")
    return lines


def biggest(comparisons: list[dict[str, Any]], count: int = 5) -> list[dict[str, Any]]:
    significant = [
        c
        for c in comparisons
        if "no significant" not in c["verdict"] and math.isfinite(c["ratio"]) and c["ratio"] > 0
    ]
    return sorted(significant, key=lambda c: -abs(math.log(c["ratio"])))[:count]


def sentences(table: pd.DataFrame, scenario: str) -> list[str]:
    """One plain sentence per endpoint, at its highest users level."""
    rows = table[table["scenario"] == scenario]
    out = []
    for label in dict.fromkeys(rows["endpoint"]):
        mine = rows[rows["endpoint"] == label].sort_values("users")
        top = mine.iloc[-1]
        out.append(f"{top['sentence']} (at {int(top['users'])} users)")
        out += _pool_full(label, top)
        streamed = first_byte.sentence(label, top)
        out += [streamed] if streamed else []
    return out


POOL_FULL_SHARE = 0.25  # of the window: a pool full for less is not worth a sentence


def _pool_full(label: str, row: pd.Series) -> list[str]:
    """How long the thread pool stayed exhausted, when it was for a quarter of the window or
    more (every other ``def`` route and ``run_in_threadpool`` call of the app queued)."""
    full, window = float(row.get("pool_full_s", math.nan)), float(row.get("duration_s", 0.0))
    if math.isnan(full) or window <= 0 or full < POOL_FULL_SHARE * window:
        return []
    return [
        f"{label}: the thread pool had every token in use for {full:,.1f} s of the "
        f"{window:.1f} s window (at {int(row['users'])} users): every `def` route and "
        "`run_in_threadpool` call of the app queued meanwhile"
    ]
