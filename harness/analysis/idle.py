"""What an idle WebSocket connection costs: the app's memory per connection, and the active
clients' latency beside N of them.

A WebSocket endpoint with ``idle = N`` is measured with N more connections open and silent (the
load generator opens them before the window, ``locustfiles/sockets.py``, and records how many it
held). Set against the same scenario's endpoint with no idle connections at the same users level,
the app's resident memory at the window's end grows by about N × (a task, its buffers and the
protocol's state): the difference divided by the connections actually open is the cost of one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from harness.results import Measurement, Run
from locustfiles import protocol as p


def opened(run_dir: Path, m: Measurement) -> int | None:
    """How many idle connections the generator held at most in ``m`` (None: none recorded)."""
    samples = m.samples or f"samples/{m.id}.csv"
    meta = run_dir / (samples.removesuffix(".csv") + ".meta.json")
    try:
        doc = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    value = doc.get(p.IDLE_CONNECTIONS) if isinstance(doc, dict) else None
    return int(value) if isinstance(value, int | float) else None


def sentences(run_dir: Path, run: Run, table: pd.DataFrame) -> list[str]:
    """One sentence per endpoint measured beside idle connections, set against its scenario's
    endpoint with none, at the same users level."""
    out: list[str] = []
    if not len(table):
        return out
    for record in run.scenarios:
        idle = {e["label"]: int(e.get("idle", 0)) for e in record.get("endpoints", [])}
        if not any(idle.values()) or 0 not in idle.values():
            continue
        rows = table[table["scenario"] == record["name"]]
        alone = {int(r.users): r for r in rows.itertuples() if idle.get(r.endpoint, -1) == 0}
        for row in rows.itertuples():
            if idle.get(row.endpoint, 0) > 0 and int(row.users) in alone:
                found = _sentence(run_dir, run, row, alone[int(row.users)], idle[row.endpoint])
                out += [found] if found else []
    return out


def _sentence(run_dir: Path, run: Run, row: Any, base: Any, asked: int) -> str:
    measurements = [
        m
        for m in run.measurements
        if m.scenario == row.scenario and m.endpoint == row.endpoint and m.users == row.users
    ]
    held = [n for m in measurements if (n := opened(run_dir, m)) is not None]
    count = min(held) if held else asked
    grown = float(row.app_rss_mb) - float(base.app_rss_mb)
    if not count or math.isnan(grown):
        return ""
    each_kib = grown * 1024 / count
    short = f" (of {asked:,} asked)" if count < asked else ""
    return (
        f"{row.scenario} / {row.endpoint} @ {row.users} users: {count:,} idle connections "
        f"open{short} cost the app {grown:,.1f} MB more than none ({base.endpoint}): about "
        f"{each_kib:,.1f} KiB each; the active clients' p50 {base.p50_ms:,.1f} → "
        f"{row.p50_ms:,.1f} ms, p99 {base.p99_ms:,.1f} → {row.p99_ms:,.1f} ms"
    )
