"""Statistics on raw samples: confidence intervals, ratios with uncertainty, verdicts.

Throughput has no per-request sample, so its uncertainty comes from *batch means*: the measured
window is cut into 1 s bins, each bin's successful completions is one observation of the RPS
(pooled over repeats). Bootstrap resampling (fixed seed: reports are reproducible) gives the 95 %
CI of the mean RPS and of a ratio between two endpoints; Mann-Whitney U on the same bins says
whether the difference is significant (two-sided, α = 0.05).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ALPHA = 0.05
BOOTSTRAP = 2000
SEED = 20261121


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def _rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def mean_ci(values: Sequence[float] | npt.NDArray[np.float64], level: float = 0.95) -> Interval:
    """Bootstrap CI of the mean (percentile method); a single value has a zero-width CI."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Interval(math.nan, math.nan, math.nan)
    if data.size == 1:
        return Interval(float(data[0]), float(data[0]), float(data[0]))
    idx = _rng().integers(0, data.size, size=(BOOTSTRAP, data.size))
    means = data[idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return Interval(
        float(data.mean()),
        float(np.percentile(means, tail)),
        float(np.percentile(means, 100 - tail)),
    )


def ratio_ci(
    a: Sequence[float] | npt.NDArray[np.float64],
    b: Sequence[float] | npt.NDArray[np.float64],
    level: float = 0.95,
) -> Interval:
    """Bootstrap CI of mean(a) / mean(b), resampling both independently."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0 or y.mean() == 0:
        return Interval(math.nan, math.nan, math.nan)
    rng = _rng()
    mx = x[rng.integers(0, x.size, size=(BOOTSTRAP, x.size))].mean(axis=1)
    my = y[rng.integers(0, y.size, size=(BOOTSTRAP, y.size))].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(my > 0, mx / my, np.nan)
    ratios = ratios[np.isfinite(ratios)]
    tail = (1 - level) / 2 * 100
    return Interval(
        float(x.mean() / y.mean()),
        float(np.percentile(ratios, tail)),
        float(np.percentile(ratios, 100 - tail)),
    )


def mann_whitney_p(
    a: Sequence[float] | npt.NDArray[np.float64], b: Sequence[float] | npt.NDArray[np.float64]
) -> float:
    """Two-sided Mann-Whitney U p-value (1.0 when either side is too small or constant alike)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size < 2 or y.size < 2:
        return 1.0
    if np.all(x == x[0]) and np.all(y == y[0]) and x[0] == y[0]:
        return 1.0
    n1, n2 = x.size, y.size
    ranks, ties = _ranks(np.concatenate([x, y]))
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    # scipy.stats.mannwhitneyu's method="auto": the exact distribution for a small sample
    # without ties, else the normal approximation with tie and continuity corrections.
    # Written out here because importing scipy.stats costs a report 0.7 s; a test checks the
    # two agree.
    if (n1 > 8 and n2 > 8) or bool(np.any(ties > 1)):
        n = n1 + n2
        tie_term = float(np.sum(ties.astype(float) ** 3 - ties))
        sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / sigma if sigma > 0 else math.inf
        p = math.erfc(z / math.sqrt(2)) / 2
    else:
        p = _exact_sf(round(u), n1, n2)
    return min(max(2 * p, 0.0), 1.0)


def _ranks(
    values: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Average ranks (from 1) of ``values``, and the size of each group of ties."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, ordered.size])
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(starts + (sizes + 1) / 2.0, sizes)
    return ranks, sizes


def _exact_sf(u: int, n1: int, n2: int) -> float:
    """P(U ≥ u) when both samples come from one distribution, counting every arrangement:
    with i items of the smaller sample among j of the larger, the last item is either one of
    the larger sample (U unchanged) or of the smaller (U grows by j)."""
    n1, n2 = min(n1, n2), max(n1, n2)
    top = n1 * n2
    counts = [np.zeros(top + 1) for _ in range(n2 + 1)]
    for row in counts:
        row[0] = 1.0
    for _ in range(n1):
        after = [np.zeros(top + 1) for _ in range(n2 + 1)]
        after[0][0] = 1.0
        for j in range(1, n2 + 1):
            after[j] = after[j - 1].copy()
            after[j][j:] += counts[j][: top + 1 - j]
        counts = after
    freq = counts[n2]
    return float(freq[u:].sum() / freq.sum())


def cv(values: Sequence[float] | npt.NDArray[np.float64]) -> float:
    """Coefficient of variation (sample std / mean); 0 for fewer than two values."""
    data = np.asarray(values, dtype=float)
    if data.size < 2 or data.mean() == 0:
        return 0.0
    return float(data.std(ddof=1) / data.mean())


@dataclass(frozen=True)
class Comparison:
    """``a`` against ``b`` on higher-is-better values (RPS): ratio, its CI and a verdict."""

    a: str
    b: str
    ratio: Interval
    p_value: float

    @property
    def significant(self) -> bool:
        r = self.ratio
        return self.p_value < ALPHA and not (r.low <= 1.0 <= r.high)

    def verdict(self, *, name_b: bool = True) -> str:
        """ "async sleep is 2.50× faster than sync sleep (±0.04)"; with ``name_b=False`` the
        short form of a run-to-run change, "B is 1.42× faster (±0.03)"."""
        r = self.ratio
        if math.isnan(r.estimate):
            if not name_b:
                return "not comparable"
            return f"{self.a} vs {self.b}: not comparable (no successful requests)"
        if not self.significant:
            if not name_b:
                return f"no significant difference (p={self.p_value:.2g})"
            return (
                f"{self.a} vs {self.b}: no significant difference "
                f"({r.estimate:.2f}×, p={self.p_value:.2g})"
            )
        than = f" than {self.b}" if name_b else ""
        if r.estimate == 0:
            return f"{self.a} served no successful request{than.replace(' than', ', unlike')}"
        if r.estimate >= 1:
            return f"{self.a} is {r.estimate:.2f}× faster{than} (±{r.half_width:.2f})"
        inverse = 1 / r.estimate
        if not name_b:  # the run-to-run form keeps the ratio's own half-width
            return f"{self.a} is {inverse:.2f}× slower (±{r.half_width:.2f})"
        spread = (1 / r.low - 1 / r.high) / 2 if r.low > 0 else math.inf
        return f"{self.a} is {inverse:.2f}× slower{than} (±{spread:.2f})"


def compare_bins(
    a_label: str,
    a: Sequence[float] | npt.NDArray[np.float64],
    b_label: str,
    b: Sequence[float] | npt.NDArray[np.float64],
) -> Comparison:
    return Comparison(a_label, b_label, ratio_ci(a, b), mann_whitney_p(a, b))
