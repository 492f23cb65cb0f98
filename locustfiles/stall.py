"""The load generator's own scheduling lag: how late a greenlet that sleeps 10 ms wakes.

A load generator that is stalled (its core taken by another process, a long GC pause, a
greenlet that never yields) sends nothing while it is stalled, and its samples alone cannot
show it: the requests it did not send leave no row. A greenlet that asks for 10 ms of sleep
and measures how late it woke sees it. Over the measured window only (``MEASURE_START`` set,
``MEASURE_END`` not yet), the worst and the 99th-percentile lateness are kept in the window's
metadata (``protocol.LOADGEN_LAG_*``), up to date after every wake-up, so the recorder writes
them with the rest whenever the test stops. Started from the recorder's init listener:
``gevent.spawn(stall.watch, WINDOW.meta, gevent.sleep)``. The sleep and the clock are injected
(``gevent.sleep`` inside Locust, fakes in the tests): this module imports no gevent.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from locustfiles import protocol as p

TICK_S = 0.010


@dataclass
class StallMeter:
    """Lateness of the ticker's wake-ups inside the window, published into ``meta``."""

    meta: dict[str, Any]
    lags_ms: list[float] = field(default_factory=list)  # kept sorted: p99 is one index

    @property
    def inside(self) -> bool:
        return p.MEASURE_START in self.meta and p.MEASURE_END not in self.meta

    @property
    def over(self) -> bool:
        return p.MEASURE_END in self.meta

    def add(self, late_s: float) -> None:
        bisect.insort(self.lags_ms, max(late_s, 0.0) * 1000.0)
        self.meta[p.LOADGEN_LAG_MAX_MS] = self.lags_ms[-1]
        self.meta[p.LOADGEN_LAG_P99_MS] = self.p99()
        self.meta[p.LOADGEN_LAG_TICKS] = len(self.lags_ms)

    def p99(self) -> float:
        """The 99th percentile (nearest rank, higher side) of the lateness so far, in ms."""
        if not self.lags_ms:
            return 0.0
        rank = min(len(self.lags_ms) - 1, int(0.99 * len(self.lags_ms)))
        return self.lags_ms[rank]


def watch(
    meta: dict[str, Any],
    sleep: Callable[[float], Any],
    clock: Callable[[], float] = time.perf_counter,
    tick_s: float = TICK_S,
) -> StallMeter:
    """Sleep ``tick_s`` again and again, recording how late each wake-up is while the window
    is open; return once it has closed."""
    meter = StallMeter(meta)
    while not meter.over:
        asked = clock()
        sleep(tick_s)
        late = clock() - asked - tick_s
        if meter.inside:
            meter.add(late)
    return meter
