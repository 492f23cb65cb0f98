"""When a measurement's requests completed, as the client saw them, kept small enough to cache.

The disturbance guard sets the client's completions against the app's ``requests_total``, which
the app snapshots at its own instants (``t``). Counted at those very instants, the two agree
whatever the rate did in between (a burst, a generator that stalled near the window's edge),
up to the requests the app had answered and the client had not read yet. So the client's
count is kept as cumulative counts in 1 ms bins over the file (every endpoint of a mix: the app
counts them all), a few tens of kilobytes for a window, instead of the rows themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BIN_S = 0.001


@dataclass(frozen=True)
class Completions:
    """Cumulative completions: ``cumulative[i]`` completed before ``t0 + (i + 1) * BIN_S``."""

    t0: float
    cumulative: np.ndarray

    @classmethod
    def of(cls, ends: np.ndarray) -> Completions:
        """From the completion times of every sample of a file (any order)."""
        ends = np.asarray(ends, dtype=float)
        ends = ends[np.isfinite(ends)]
        if not len(ends):
            return cls(0.0, np.zeros(0, dtype=np.int64))
        t0 = float(ends.min())
        index = np.floor((ends - t0) / BIN_S).astype(np.int64)
        return cls(t0, np.cumsum(np.bincount(index)))

    @property
    def total(self) -> int:
        return int(self.cumulative[-1]) if len(self.cumulative) else 0

    def by(self, t: float) -> tuple[int, int]:
        """(completions surely at or before ``t``, those that may be too: the bin ``t`` is in)."""
        i = int(np.floor((t - self.t0) / BIN_S))
        if i < 0 or not len(self.cumulative):
            return 0, 0
        if i >= len(self.cumulative):
            return self.total, 0
        before = int(self.cumulative[i - 1]) if i else 0
        return before, int(self.cumulative[i]) - before

    def between(self, a: float, b: float) -> tuple[int, int]:
        """(completions in (a, b], how far that count may be off at the two instants)."""
        (before_a, doubt_a), (before_b, doubt_b) = self.by(a), self.by(b)
        return before_b - before_a, doubt_a + doubt_b
