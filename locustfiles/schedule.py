"""The open model's schedule: requests sent at a rate, whatever the server answers.

A closed-model user sends its next request when the last one answered, so a slow server slows
the load down and its queue never shows (coordinated omission). Here the send times are fixed in
advance — ``t0 + i / rate`` (constant spacing) or exponential gaps of mean ``1 / rate``
(``poisson``) — and ``drive`` sleeps until each one and hands it to ``launch``, which starts the
request on a greenlet of its own and returns False when the in-flight cap is reached. Each
request's latency is then measured from its *intended* send time (``corrected``): a request
the generator sent late, because the generator was busy or stalled, carries that lateness.

Nothing is skipped silently: over the measured window (intended times inside it) the schedule
counts what it meant to send (``SCHEDULED``), what it sent more than ``LATE_S`` after its time
(``LATE``, sent all the same) and what it could not send at all, the in-flight cap being
reached (``DROPPED``), and writes them into the window's metadata as it goes, with the most
requests in flight at once. Like ``window.py`` and ``stall.py`` this module imports no gevent
and no Locust: the clock, the sleep and ``launch`` are injected (fakes in the tests).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from locustfiles import protocol as p


def intended_times(
    t0: float, rate: float, arrivals: str = "constant", rng: random.Random | None = None
) -> Iterator[float]:
    """The intended send times from ``t0`` on: ``t0 + i / rate`` (each computed from ``t0``,
    so no rounding error accumulates), or a Poisson process of that rate."""
    if rate <= 0:
        raise ValueError(f"rate must be > 0, got {rate}")
    if arrivals == "constant":
        return (t0 + i / rate for i in itertools.count())
    if arrivals == "poisson":
        draw = rng or random.Random()
        return itertools.accumulate((draw.expovariate(rate) for _ in itertools.count()), initial=t0)
    raise ValueError(f"arrivals: {arrivals!r} is not one of {', '.join(p.ARRIVALS)}")


def corrected(intended: float, sent: float, service_ms: float) -> float:
    """The latency from the intended send time, in ms: the service time plus how late the
    request left (never less than the service time: a send a hair early counts as on time)."""
    return service_ms + max(sent - intended, 0.0) * 1000.0


@dataclass
class Tally:
    """The schedule's counts over the measured window, published into ``meta``."""

    meta: dict[str, Any]
    scheduled: int = 0
    late: int = 0
    dropped: int = 0

    def inside(self, intended: float) -> bool:
        start, end = self.meta.get(p.MEASURE_START), self.meta.get(p.MEASURE_END)
        return start is not None and start <= intended and (end is None or intended <= end)

    def add(self, intended: float, now: float, started: bool, late_s: float) -> None:
        if not self.inside(intended):
            return
        self.scheduled += 1
        if not started:
            self.dropped += 1
        elif now - intended > late_s:
            self.late += 1
        self.meta[p.SCHEDULED] = self.scheduled
        self.meta[p.LATE] = self.late
        self.meta[p.DROPPED] = self.dropped


def drive(
    times: Iterator[float],
    launch: Callable[[float], bool],
    meta: dict[str, Any],
    clock: Callable[[], float],
    sleep: Callable[[float], Any],
    late_s: float = p.LATE_S,
) -> Tally:
    """Until the window has ended: sleep to each intended time, ``launch(intended)`` (False: not
    sent, the cap reached) and count it. Returns the tally (also kept in ``meta``)."""
    tally = Tally(meta)
    meta.setdefault(p.SCHEDULED, 0)
    meta.setdefault(p.LATE, 0)
    meta.setdefault(p.DROPPED, 0)
    for intended in times:
        if p.MEASURE_END in meta:
            break
        # always sleep, 0 s when behind: the request greenlets run while the schedule catches up
        sleep(max(intended - clock(), 0.0))
        now = clock()
        tally.add(intended, now, launch(intended), late_s)
    return tally


class Slots:
    """At most ``cap`` requests in flight: ``take`` before sending (False when full), ``give``
    once answered; the most in flight at once goes into ``meta``."""

    __slots__ = ("cap", "busy", "meta", "most")

    def __init__(self, cap: int, meta: dict[str, Any]) -> None:
        self.cap, self.busy, self.meta, self.most = cap, 0, meta, 0

    def take(self) -> bool:
        if self.busy >= self.cap:
            return False
        self.busy += 1
        if self.busy > self.most:
            self.most = self.busy
            self.meta[p.MAX_IN_FLIGHT_SEEN] = self.most
        return True

    def give(self) -> None:
        self.busy = max(self.busy - 1, 0)
