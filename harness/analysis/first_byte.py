"""Time to first byte: when a response's body started to arrive, beside when it ended.

For a ``StreamingResponse`` the head leaves at once and the body follows chunk by chunk, so the
latency (the whole response) and the time to the body's first byte tell different stories: a
sync generator pulled through the thread pool waits for a token before its *first* chunk too.
The lean client records it per request (``first_byte_ms`` in the samples; empty for a response
without a body, the other clients, and files written before it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMN = "first_byte_ms"
PERCENTILES = (50, 99)
STREAMED = 0.5  # a first byte before half the whole response's time: the body was streamed


def column(frame: pd.DataFrame) -> np.ndarray | None:
    """The samples' ``first_byte_ms`` as numbers (NaN where empty); None when there are none."""
    if COLUMN not in frame.columns or not len(frame):
        return None
    values = pd.to_numeric(frame[COLUMN], errors="coerce").to_numpy(dtype=float)
    return None if np.isnan(values).all() else values


def percentiles(values: np.ndarray | None, kept: np.ndarray) -> dict[int, float]:
    """The first-byte percentiles of the ``kept`` samples ({} without any)."""
    if values is None:
        return {}
    chosen = values[kept]
    chosen = chosen[~np.isnan(chosen)]
    if not len(chosen):
        return {}
    return {p: float(np.percentile(chosen, p)) for p in PERCENTILES}


def sentence(label: str, row: pd.Series) -> str:
    """ "sync stream: the first byte after p50 12.3 ms (p99 …), the whole response after p50
    201.0 ms (p99 …) at 50 users" — only for a streamed body ("" otherwise)."""
    first = float(row.get("first_byte_p50_ms", np.nan))
    whole = float(row.get("p50_ms", np.nan))
    if np.isnan(first) or np.isnan(whole) or whole <= 0 or first > STREAMED * whole:
        return ""
    return (
        f"{label}: the body's first byte after p50 {first:,.1f} ms "
        f"(p99 {float(row.get('first_byte_p99_ms', np.nan)):,.1f}), the whole response after "
        f"p50 {whole:,.1f} ms (p99 {float(row.get('p99_ms', np.nan)):,.1f}) at "
        f"{int(row['users'])} users"
    )
