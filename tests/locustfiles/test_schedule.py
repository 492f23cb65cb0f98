"""The open model's schedule on a fake clock: intended times exact, lateness counted, the
in-flight cap dropping sends (counted, never skipped silently), latency from the intended send."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from locustfiles import protocol as p
from locustfiles.schedule import Slots, corrected, drive, intended_times


class FakeClock:
    """A clock that moves only when slept on (or moved by a test: a stall)."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)


def test_constant_intended_times_are_exact_multiples_of_the_spacing() -> None:
    times = list(itertools.islice(intended_times(100.0, 400.0), 4001))
    assert times[0] == 100.0
    assert times[400] == 101.0 and times[4000] == 110.0  # no accumulated rounding
    assert all(b > a for a, b in itertools.pairwise(times))


def test_poisson_gaps_have_the_rate_as_mean() -> None:
    times = list(itertools.islice(intended_times(0.0, 200.0, "poisson", random.Random(7)), 20001))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert sum(gaps) / len(gaps) == pytest.approx(1 / 200, rel=0.03)
    assert len(set(gaps)) > 1000  # not constant


def test_bad_rates_and_arrivals_are_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        intended_times(0.0, 0.0)
    with pytest.raises(ValueError, match="arrivals"):
        intended_times(0.0, 10.0, "bursty")


def test_drive_sends_at_the_intended_times_and_counts_only_the_window() -> None:
    clock = FakeClock(1000.0)
    meta: dict[str, Any] = {p.MEASURE_START: 1001.0}
    sent: list[tuple[float, float]] = []

    def launch(intended: float) -> bool:
        sent.append((intended, clock()))
        if clock() >= 1003.0:
            meta[p.MEASURE_END] = clock()
        return True

    tally = drive(intended_times(1000.0, 100.0), launch, meta, clock, clock.sleep)
    assert all(actual == intended for intended, actual in sent)  # slept exactly to each time
    assert len(sent) == 301  # 1000.00 … 1003.00
    # the window [1001, 1003]: intended times 1001.00 … 1003.00
    assert tally.scheduled == meta[p.SCHEDULED] == 201
    assert tally.late == meta[p.LATE] == 0 and tally.dropped == meta[p.DROPPED] == 0


def test_a_stalled_generator_sends_late_and_counts_it() -> None:
    clock = FakeClock(0.0)
    meta: dict[str, Any] = {p.MEASURE_START: 0.0}
    sent: list[tuple[float, float]] = []

    def launch(intended: float) -> bool:
        sent.append((intended, clock()))
        if len(sent) == 10:
            clock.t += 0.055  # the generator stalls 55 ms after its 10th send
        if len(sent) == 40:
            meta[p.MEASURE_END] = clock()
        return True

    tally = drive(intended_times(0.0, 100.0), launch, meta, clock, clock.sleep)
    # sends 11-15 (due at 0.10 … 0.14) left at 0.145, so 45, 35, 25, 15 and 5 ms late: four
    # beyond LATE_S (10 ms), sent all the same, and none skipped
    late = [round((actual - intended) * 1000, 6) for intended, actual in sent if actual > intended]
    assert late == [45.0, 35.0, 25.0, 15.0, 5.0]
    assert [i for i, _ in sent] == pytest.approx([k / 100 for k in range(40)])
    assert tally.late == 4 and tally.dropped == 0 and tally.scheduled == 40


def test_the_in_flight_cap_drops_sends_and_counts_them() -> None:
    clock = FakeClock(0.0)
    meta: dict[str, Any] = {p.MEASURE_START: 0.0}
    slots = Slots(3, meta)

    def launch(intended: float) -> bool:
        if clock() >= 0.4:
            meta[p.MEASURE_END] = 0.4  # the window is [0, 0.4]: 21 sends due at 50/s
        # a server that never answers: the 4th send onwards finds the cap reached
        if not slots.take():
            refused.append(intended)
            return False
        return True

    refused: list[float] = []
    tally = drive(intended_times(0.0, 50.0), launch, meta, clock, clock.sleep)
    assert slots.busy == 3 and meta[p.MAX_IN_FLIGHT_SEEN] == 3
    assert tally.scheduled == meta[p.SCHEDULED] == 21
    assert tally.dropped == meta[p.DROPPED] == len(refused) == 18
    slots.give()
    assert slots.take()  # a slot freed by an answer is taken again


def test_latency_counts_from_the_intended_send() -> None:
    # sent on time: the service time; sent 30 ms late: 30 ms more; a hair early: on time
    assert corrected(10.0, 10.0, 5.0) == 5.0
    assert corrected(10.0, 10.030, 5.0) == pytest.approx(35.0)
    assert corrected(10.0, 9.999, 5.0) == 5.0
