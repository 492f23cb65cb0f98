"""Statistics on known samples (golden values; the bootstrap has a fixed seed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from harness.analysis import stats


def test_mean_ci_brackets_the_mean_and_is_reproducible() -> None:
    data = [1.0, 2.0, 3.0, 4.0, 5.0]
    first, second = stats.mean_ci(data), stats.mean_ci(data)
    assert first == second
    assert first.estimate == 3.0
    assert first.low == pytest.approx(1.8) and first.high == pytest.approx(4.2)


def test_mean_ci_of_one_value_and_of_nothing() -> None:
    one = stats.mean_ci([7.0])
    assert (one.estimate, one.low, one.high) == (7.0, 7.0, 7.0)
    assert math.isnan(stats.mean_ci([]).estimate)


def test_cv_known_values() -> None:
    assert stats.cv([10.0, 10.0, 10.0]) == 0.0
    assert stats.cv([9.0, 10.0, 11.0]) == pytest.approx(0.1)
    assert stats.cv([5.0]) == 0.0


def test_clear_difference_gives_a_ratio_and_a_verdict() -> None:
    fast = [500.0, 510.0, 490.0, 505.0, 495.0]
    slow = [400.0, 395.0, 405.0, 398.0, 402.0]
    result = stats.compare_bins("async", fast, "sync", slow)
    assert result.ratio.estimate == pytest.approx(500 / 400)
    assert result.ratio.low < 1.25 < result.ratio.high
    assert result.p_value == pytest.approx(0.00793650, rel=1e-4)
    assert result.significant
    assert result.verdict() == "async is 1.25× faster than sync (±0.02)"
    inverse = stats.compare_bins("sync", slow, "async", fast)
    assert inverse.verdict().startswith("sync is 1.25× slower than async")


def test_overlapping_samples_are_not_significant() -> None:
    result = stats.compare_bins("a", [500.0, 510.0, 490.0], "b", [505.0, 495.0, 500.0])
    assert not result.significant
    assert "no significant difference" in result.verdict()


def test_too_few_samples_are_never_significant() -> None:
    result = stats.compare_bins("a", [1000.0], "b", [10.0])
    assert result.p_value == 1.0 and not result.significant


def test_ratio_ci_of_empty_or_zero_is_nan() -> None:
    assert math.isnan(stats.ratio_ci([], [1.0]).estimate)
    assert math.isnan(stats.ratio_ci([1.0], [0.0, 0.0]).estimate)
    assert "not comparable" in stats.compare_bins("a", np.array([]), "b", [1.0, 2.0]).verdict()


def test_a_side_that_served_nothing_is_said_plainly() -> None:
    result = stats.compare_bins("B", [0.0] * 10, "A", [10.0, 11.0, 9.0, 10.5, 9.5] * 2)
    assert result.verdict(name_b=False) == "B served no successful request"
    assert result.verdict() == "B served no successful request, unlike A"


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=2, max_size=14),
    st.lists(st.integers(0, 30), min_size=2, max_size=14),
    st.booleans(),
)
def test_mann_whitney_agrees_with_scipy(a: list[int], b: list[int], spread: bool) -> None:
    """The p-value is scipy.stats.mannwhitneyu's (method="auto"), exact and asymptotic paths,
    with and without ties; written out only to spare a report scipy's import."""
    x = np.asarray(a, float) * (1.0 if not spread else 1.0 + np.arange(len(a)) * 1e-3)
    y = np.asarray(b, float) * (1.0 if not spread else 1.0 + np.arange(len(b)) * 1e-3)
    ours = stats.mann_whitney_p(x, y)
    if np.all(x == x[0]) and np.all(y == y[0]) and x[0] == y[0]:
        assert ours == 1.0
        return
    theirs = float(sps.mannwhitneyu(x, y, alternative="two-sided").pvalue)
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-15)


def test_mann_whitney_exact_with_a_long_sample() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(0, 1, 6), rng.normal(0.3, 1, 400)
    theirs = float(sps.mannwhitneyu(x, y, alternative="two-sided").pvalue)
    assert stats.mann_whitney_p(x, y) == pytest.approx(theirs, rel=1e-9)
