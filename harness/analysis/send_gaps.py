"""The open model's own evidence of a stalled load generator: a gap in its actual sends.

In the closed model a stalled generator shows on the server (nothing in flight, nothing served).
In the open model that signal is ambiguous: a few requests in flight is normal at a low rate, and
an app that stops serving while its queue grows is overloaded, not starved. But the generator
records when each request was really sent (``sent``, beside the intended time ``start``): on a
schedule of ``rate`` requests/s the longest stretch without a send is a few spacings (Poisson:
a gap of 20 spacings has a chance of about 2e-9). A longer silence inside the window, while no
send was dropped for the in-flight cap, is the generator itself not running. The gap is taken
with the samples' one parse (``samples.digest``), over every endpoint of a mix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

GAP_S = 0.25  # at least this long (the generator's own lag rule flags 250 ms late timers)
GAP_SPACINGS = 20  # ... and this many schedule spacings


def longest_gap(sent: Sequence[float] | np.ndarray, start: float, end: float) -> float:
    """The longest time inside [start, end] with no send (the edges count as sends)."""
    times = np.asarray(sent, dtype=float)
    times = np.sort(times[(times >= start) & (times <= end)])
    edges = np.concatenate(([start], times, [end]))
    return float(np.max(np.diff(edges))) if len(edges) > 1 else 0.0


def stall_text(gap_s: float, rate: float) -> str:
    """ "" when ``gap_s`` is an ordinary gap for ``rate``, else why it is a stall, in words."""
    if rate <= 0 or gap_s <= max(GAP_S, GAP_SPACINGS / rate):
        return ""
    missed = int(gap_s * rate)
    return (
        f"the load generator sent nothing for {gap_s:.2f} s of the window while its schedule "
        f"asked for about {missed:,} requests (none dropped for the in-flight cap): it stalled"
    )


def window_gap(frame: pd.DataFrame, start: float, end: float) -> float:
    """``longest_gap`` over a samples frame's actual send times; NaN when it has none (the
    closed model leaves ``sent`` empty, older files have no such column)."""
    if "sent" not in frame.columns:
        return float("nan")
    sent = pd.to_numeric(frame["sent"], errors="coerce").dropna().to_numpy(dtype=float)
    return longest_gap(sent, start, end) if len(sent) else float("nan")
