"""The load generator's own timer, on a fake clock: only the window's wake-ups count, and the
worst and the 99th percentile are in the metadata after every one."""

from __future__ import annotations

from collections.abc import Callable

from locustfiles import protocol as p
from locustfiles.stall import TICK_S, StallMeter, watch


class Script:
    """A clock that advances by each sleep plus a scripted lateness; opens the window after
    ``opens`` wake-ups and closes it after ``closes``."""

    def __init__(self, late_ms: Callable[[int], float], opens: int, closes: int) -> None:
        self.now, self.wakeups = 0.0, 0
        self.late_ms, self.opens, self.closes = late_ms, opens, closes
        self.meta: dict[str, float] = {}

    def sleep(self, seconds: float) -> None:
        self.now += seconds + self.late_ms(self.wakeups) / 1000.0
        self.wakeups += 1
        if self.wakeups == self.opens:
            self.meta[p.MEASURE_START] = self.now
        if self.wakeups == self.closes:
            self.meta[p.MEASURE_END] = self.now


def test_only_the_window_counts_and_the_worst_is_kept() -> None:
    # 2 ms late always, 500 ms once inside the window, 900 ms once before it opens
    script = Script(lambda i: {3: 900.0, 60: 500.0}.get(i, 2.0), opens=10, closes=210)
    meter = watch(script.meta, script.sleep, lambda: script.now)
    assert script.wakeups == 210, "it returns once the window has closed"
    meta = script.meta
    assert meta[p.LOADGEN_LAG_TICKS] == 200  # wake-ups 10..209: those that end inside it
    assert round(meta[p.LOADGEN_LAG_MAX_MS], 6) == 500.0
    assert round(meta[p.LOADGEN_LAG_P99_MS], 6) == 2.0  # one wake-up in 199 is under 1 %
    assert meter.lags_ms == sorted(meter.lags_ms)


def test_p99_follows_a_lateness_that_is_common() -> None:
    script = Script(lambda i: 40.0 if i % 20 == 0 else 1.0, opens=1, closes=401)
    watch(script.meta, script.sleep, lambda: script.now)
    assert round(script.meta[p.LOADGEN_LAG_P99_MS], 6) == 40.0


def test_a_meter_reports_nothing_before_the_window() -> None:
    meter = StallMeter({})
    assert not meter.inside and not meter.over and meter.p99() == 0.0
    meter.add(-0.001)  # an early wake-up is not negative lateness
    assert meter.meta[p.LOADGEN_LAG_MAX_MS] == 0.0
    assert TICK_S == 0.010
