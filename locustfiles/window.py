"""The measurement window of one Locust run, kept apart from Locust so it can be tested.

Once every user is spawned: wait the warm-up, mark the window's start, wait the duration, mark
its end, record the load generator's own CPU time over the window, and stop the test. A request
belongs to the window when it *completes* inside it (start + response time within
``[measure_start, measure_end]``, both ends included). The clocks and the sleep are injected:
``time.time``/``time.process_time``/``gevent.sleep`` inside Locust, fakes in the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from locustfiles import protocol as p

# start (s), elapsed (ms), status, bytes, error, endpoint name
Sample = tuple[float, float, int, int, str, str]


@dataclass
class Window:
    warmup_s: float
    duration_s: float
    clock: Callable[[], float] = time.time
    cpu_clock: Callable[[], float] = time.process_time
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.meta.setdefault(p.WARMUP_S, self.warmup_s)
        self.meta.setdefault(p.DURATION_S, self.duration_s)

    @property
    def started(self) -> bool:
        return p.SPAWNED_AT in self.meta

    def drive(self, sleep: Callable[[float], Any], stop: Callable[[], Any]) -> None:
        """Warm up, measure, record the generator's CPU share, then ``stop`` the test."""
        self.meta[p.SPAWNED_AT] = self.clock()
        sleep(self.warmup_s)
        self.meta[p.MEASURE_START] = self.clock()
        cpu_start = self.cpu_clock()
        sleep(self.duration_s)
        self.meta[p.MEASURE_END] = self.clock()
        cpu = self.cpu_clock() - cpu_start
        self.meta[p.LOADGEN_CPU_S] = cpu
        self.meta[p.LOADGEN_CPU_SHARE] = cpu / self.duration_s if self.duration_s else 0.0
        stop()

    def close(self, samples: Iterable[Sample], cpu_warning: bool) -> dict[str, Any]:
        """The final metadata: sample count, and the window's completions and errors."""
        kept = list(samples)
        self.meta[p.SAMPLES] = len(kept)
        start, end = self.meta.get(p.MEASURE_START), self.meta.get(p.MEASURE_END)
        if start is not None and end is not None:
            count, errors = in_window(kept, start, end)
            self.meta[p.WINDOW_COUNT], self.meta[p.ERRORS] = count, errors
        self.meta[p.LOCUST_CPU_WARNING] = bool(self.meta.get(p.LOCUST_CPU_WARNING)) or cpu_warning
        return self.meta


def in_window(samples: Iterable[Sample], start: float, end: float) -> tuple[int, int]:
    """(requests completed in [start, end], of which errors)."""
    count = errors = 0
    for began, elapsed_ms, _status, _size, error, *_ in samples:
        if start <= began + elapsed_ms / 1000 <= end:
            count += 1
            errors += bool(error)
    return count, errors
