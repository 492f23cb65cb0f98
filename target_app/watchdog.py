"""Who blocked the event loop: a thread that notices a late loop and names the code holding it.

The loop-lag ticker (``instrumentation.sample_loop_lag``) stamps ``Signals.last_tick`` every
10 ms from the loop. This watchdog thread sleeps until the moment the next tick would be more
than ``threshold`` (20 ms) late; if the ticker has not run by then, the loop is blocked: it reads
the loop thread's stack (``sys._current_frames()``), the request that task serves
(``Signals.running``: the route template, e.g. ``GET /pitfall/sleep``) and the innermost frame in
user code — not the standard library, not an installed package — with its source line, which is
how a C function such as ``time.sleep`` shows (``routes/sleep.py:42 sleep_pitfall —
time.sleep(ms / 1000)``). While the stall lasts it samples again every ``interval`` (10 ms), and
adds the time since the previous check (since the stall began, for its first) to that route and
frame. Totals are cumulative, like ``requests_total``: a reader takes differences.

Cost when nothing blocks: one wake-up per 20–30 ms (when a stall could first be seen, not every
``interval``) that compares two floats. Each wake-up takes the GIL from the loop's thread on the
app's core, so fewer wake-ups is what keeps it cheap (measured in the README: polling every
10 ms cost about 3 % of ``/async/hello``'s throughput, waking at the deadline less than that).
"""

from __future__ import annotations

import asyncio
import linecache
import os
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
LIBRARY_PATHS = tuple(
    {os.path.realpath(sysconfig.get_paths()[k]) + os.sep for k in ("stdlib", "purelib", "platlib")}
)
OWN_FILES = (os.path.join(HERE, "watchdog.py"), os.path.join(HERE, "instrumentation.py"))
MAX_FRAMES = 20  # distinct frames kept per route; the rest are lumped into "other"
MAX_ROUTES = 50  # distinct routes kept (a raw path stands for an unrouted request); the rest: OTHER
OTHER = "other"
NO_REQUEST = "(no request)"
NO_USER_CODE = "(no user code on the stack)"  # a GC pause, threads holding the GIL, the framework


@dataclass
class Blame:
    """Blocked time attributed to one frame of one route."""

    line: str
    context: str  # the innermost frame overall, when it is not the blamed one
    seconds: float = 0.0


@dataclass
class RouteBlock:
    seconds: float = 0.0
    samples: int = 0
    frames: dict[str, Blame] = field(default_factory=dict)

    def add(self, frame: str, line: str, context: str, seconds: float) -> None:
        self.seconds += seconds
        self.samples += 1
        if frame not in self.frames and len(self.frames) >= MAX_FRAMES:
            frame, line, context = OTHER, "", ""
        blame = self.frames.setdefault(frame, Blame(line, context))
        blame.seconds += seconds


@dataclass
class Blocked:
    """Cumulative blocked time per route (written by the watchdog thread only)."""

    threshold_ms: float
    total_s: float = 0.0
    routes: dict[str, RouteBlock] = field(default_factory=dict)
    cpu_s: float = 0.0  # the watchdog thread's own CPU time: its cost, measured
    errors: int = 0  # samples it could not take

    def snapshot(self) -> dict[str, Any]:
        return {
            "threshold_ms": self.threshold_ms,
            "total_s": self.total_s,
            "cpu_s": self.cpu_s,
            "errors": self.errors,
            "routes": [
                {
                    "route": route,
                    "seconds": block.seconds,
                    "samples": block.samples,
                    "frames": [
                        {"frame": f, "line": b.line, "context": b.context, "seconds": b.seconds}
                        for f, b in list(block.frames.items())
                    ],
                }
                for route, block in list(self.routes.items())
            ],
        }


def user_frame(frame: FrameType | None) -> tuple[FrameType | None, FrameType | None]:
    """(innermost frame in user code, innermost frame overall)."""
    innermost = frame
    while frame is not None:
        name = os.path.realpath(frame.f_code.co_filename)
        if not name.startswith(LIBRARY_PATHS) and name not in OWN_FILES and "<" not in name:
            return frame, innermost
        frame = frame.f_back
    return None, innermost


def describe(frame: FrameType | None) -> tuple[str, str]:
    """``"routes/sleep.py:42 sleep_pitfall"`` and its source line."""
    if frame is None:
        return NO_USER_CODE, ""
    name = frame.f_code.co_filename
    try:
        shown = os.path.relpath(name)
    except ValueError:
        shown = name
    if shown.startswith(".."):
        shown = os.path.join(os.path.basename(os.path.dirname(name)), os.path.basename(name))
    line = frame.f_lineno or 0  # None for a frame caught between two lines
    where = f"{shown}:{line} {frame.f_code.co_name}"
    return where, linecache.getline(name, line).strip() if line else ""


def route_of(scope: dict[str, Any] | None) -> str:
    if scope is None:
        return NO_REQUEST
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("path", "?")
    method = scope.get("method") or ("WS" if scope.get("type") == "websocket" else "")
    return f"{method} {path}".strip()


class Watchdog:
    """The thread; ``start`` from the loop's thread (it records which thread to watch)."""

    def __init__(self, signals: Any, interval_s: float = 0.01, threshold_s: float = 0.02) -> None:
        self.signals = signals
        self.interval_s = interval_s
        self.threshold_s = threshold_s
        self.blocked = Blocked(threshold_ms=threshold_s * 1000.0)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._thread = threading.Thread(target=self._run, name="bench-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        if self._thread is not None:
            self._thread.join(1.0)

    def _run(self) -> None:
        tick_s = self.signals.lag_interval_ms / 1000.0
        previous = 0.0  # the previous check while the loop stays blocked
        stalled = False
        loop = self._loop
        paused = 0.0  # when the loop was last seen not running (its ticker could not tick)
        while not self._stopping:
            if loop is not None and loop.is_closed():
                break  # closed without a lifespan shutdown (an in-process client, a test's loop)
            now = time.perf_counter()
            if loop is not None and not loop.is_running():
                stalled, paused = False, now  # not running is not blocked: nothing to name
                time.sleep(self.threshold_s)
                continue
            # when the ticker should have run again (or the loop resumed, if later)
            due = max(self.signals.last_tick + tick_s, paused)
            if now - due > self.threshold_s:
                since = max(previous, due) if stalled else due  # the first counts from due
                try:
                    self._sample(max(0.0, now - since))
                except Exception:  # noqa: BLE001 (a frame in a state we did not foresee)
                    self.blocked.errors += 1  # the watchdog must outlive any odd frame
                stalled, previous = True, now
                wait = self.interval_s
            else:  # asleep until the tick would be late: no wake-up while the loop is fine
                stalled = False
                wait = due + self.threshold_s - now + 0.001
            self.blocked.cpu_s = time.thread_time()
            time.sleep(wait)

    def _sample(self, seconds: float) -> None:
        frame = sys._current_frames().get(self._loop_thread)
        task = asyncio.current_task(self._loop) if self._loop is not None else None
        route = route_of(self.signals.running.get(task))
        blamed, innermost = user_frame(frame)
        where, line = describe(blamed)
        context = describe(innermost)[0] if innermost is not blamed else ""
        routes = self.blocked.routes
        if route not in routes and len(routes) >= MAX_ROUTES:
            route = OTHER
        self.blocked.total_s += seconds
        routes.setdefault(route, RouteBlock()).add(where, line, context, seconds)
