"""The measurement window of one Locust run, kept apart from Locust so it can be tested.

Once every user is spawned: wait the warm-up, mark the window's start, wait the duration, mark
its end, record the load generator's own CPU time over the window, and stop the test. A request
belongs to the window when it *completes* inside it (start + response time within
``[measure_start, measure_end]``, both ends included). The requests still in flight when the
window ends (``InFlight``: a closed-model user has at most one) are written down with their start
times: their latency is at least their age at the window's end (censored samples). The clocks
and the sleep are injected: ``time.time``/``time.process_time``/``gevent.sleep`` inside Locust,
fakes in the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from locustfiles import protocol as p

# start (s), elapsed (ms), status, bytes, error, endpoint name, user index, and in the open
# model the actual send time (s) and the service time (ms) ("" in the closed model), and the
# time to the body's first byte (ms, "" when unknown): ``protocol.SAMPLE_COLUMNS``
Sample = tuple[float, float, int, int, str, str, int, float | str, float | str, float | str]


class InFlight:
    """The request each user has in flight: its start time and endpoint, keyed by the user's
    index (a closed-model user sends one request at a time). ``begin`` before sending,
    ``end`` once it completed (its sample recorded): two dict operations per request."""

    __slots__ = ("clock", "current")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.current: dict[int, tuple[float, str]] = {}

    def begin(self, user: int, name: str, start: float | None = None) -> None:
        """``start``: the open model's intended send time (else now)."""
        self.current[user] = (self.clock() if start is None else start, name)

    def end(self, user: int) -> None:
        self.current.pop(user, None)

    def snapshot(self) -> list[list[Any]]:
        """``[[start, name, user], …]`` oldest first: what the meta file keeps."""
        found = [[start, name, user] for user, (start, name) in self.current.items()]
        return sorted(found, key=lambda item: (item[0], item[2]))


@dataclass
class Window:
    warmup_s: float
    duration_s: float
    clock: Callable[[], float] = time.time
    cpu_clock: Callable[[], float] = time.process_time
    meta: dict[str, Any] = field(default_factory=dict)
    in_flight: InFlight = field(default_factory=InFlight)

    def __post_init__(self) -> None:
        self.meta.setdefault(p.WARMUP_S, self.warmup_s)
        self.meta.setdefault(p.DURATION_S, self.duration_s)

    @property
    def started(self) -> bool:
        return p.SPAWNED_AT in self.meta

    def drive(self, sleep: Callable[[float], Any], stop: Callable[[], Any]) -> None:
        """Warm up, measure, record the requests in flight at the end and the generator's CPU
        share, then ``stop`` the test."""
        self.meta[p.SPAWNED_AT] = self.clock()
        sleep(self.warmup_s)
        self.meta[p.MEASURE_START] = self.clock()
        cpu_start = self.cpu_clock()
        sleep(self.duration_s)
        self.meta[p.MEASURE_END] = self.clock()
        self.meta[p.IN_FLIGHT_AT_END] = self.in_flight.snapshot()
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
