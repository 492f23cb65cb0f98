"""Who blocked the event loop in a measurement: the app watchdog's totals over the window.

The app's watchdog (``target_app/watchdog.py``) keeps cumulative blocked seconds per route and
per blamed frame; the runner polls them every 0.5 s. A measurement's share is the difference
between the last snapshot before its window and the last one inside it (+ one poll).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.results import Measurement
from harness.server_samples import ServerSample, load_metrics, load_metrics_base

TOP_FRAMES = 3
MIN_SECONDS = 0.001  # less than this is no blocking worth a row
NO_USER_CODE = "(no user code on the stack)"  # the watchdog's frame when none is the user's


@dataclass(frozen=True)
class Frame:
    frame: str  # "target_app/routes/sleep.py:42 sleep_pitfall"
    line: str  # its source line: "time.sleep(ms / 1000)"
    context: str  # the innermost frame overall, when not this one
    seconds: float


@dataclass(frozen=True)
class Blocker:
    """One route's blocked time in one measurement."""

    route: str
    seconds: float
    share: float  # of the measured window
    frames: tuple[Frame, ...]


@dataclass(frozen=True)
class Blocking:
    """A measurement's blockers (``recorded`` False: the app had no watchdog)."""

    measurement: Measurement
    recorded: bool
    threshold_ms: float
    blockers: tuple[Blocker, ...]
    unattributed_s: float = 0.0  # late with no user code on the loop's stack

    @property
    def total_s(self) -> float:
        return sum(b.seconds for b in self.blockers)


def _totals(blocked: Mapping[str, Any]) -> dict[tuple[str, str], tuple[float, str, str]]:
    """(route, frame) → (seconds, line, context), plus (route, "") → the route's seconds."""
    out: dict[tuple[str, str], tuple[float, str, str]] = {}
    for route in blocked.get("routes", []):
        out[(route["route"], "")] = (float(route["seconds"]), "", "")
        for f in route.get("frames", []):
            out[(route["route"], f["frame"])] = (float(f["seconds"]), f["line"], f["context"])
    return out


def blocking(
    series: list[ServerSample], m: Measurement, base: ServerSample | None = None
) -> Blocking:
    """The window's blockers, from the cumulative totals before and at the end of it. Time the
    loop was late with no user code on its stack (a GC pause, threads holding the GIL, the
    framework's own work) is not blamed on a route: it is ``unattributed_s``."""
    recorded = [s for s in series if s.blocked is not None]
    if not recorded:
        return Blocking(m, False, 0.0, ())
    before = [s for s in recorded if s.t <= m.window_start]
    inside = [s for s in recorded if s.t <= m.window_end + 0.5]
    if not inside:
        return Blocking(m, True, 0.0, ())
    first = before[-1] if before else base
    start = _totals(first.blocked or {}) if first is not None else {}
    end_snapshot = inside[-1].blocked or {}
    end = _totals(end_snapshot)
    window = max(m.window_end - m.window_start, 1e-9)
    # the snapshots bracket the window loosely (a blocked loop delays the poll): the time
    # between them is what the differences cover; scaled to the window
    span = inside[-1].t - first.t if first is not None and inside[-1].t > first.t else window
    scale = min(window / span, 1.0)
    spent: dict[str, list[Frame]] = {}
    for (route, frame), (seconds, line, context) in end.items():
        if frame:
            used = (seconds - start.get((route, frame), (0.0, "", ""))[0]) * scale
            spent.setdefault(route, []).append(Frame(frame, line, context, used))
    blockers, unattributed = [], 0.0
    for route, frames in spent.items():
        unattributed += sum(f.seconds for f in frames if f.frame == NO_USER_CODE)
        mine = sorted(
            (f for f in frames if f.frame != NO_USER_CODE and f.seconds >= MIN_SECONDS),
            key=lambda f: -f.seconds,
        )
        total = sum(f.seconds for f in mine)
        if total >= MIN_SECONDS:
            share = min(total / window, 1.0)
            blockers.append(Blocker(route, total, share, tuple(mine[:TOP_FRAMES])))
    blockers.sort(key=lambda b: -b.seconds)
    threshold = float(end_snapshot.get("threshold_ms", 0.0))
    return Blocking(m, True, threshold, tuple(blockers), unattributed)


def blocking_by_measurement(run_dir: Path, measurements: Sequence[Measurement]) -> list[Blocking]:
    """Every measurement's blocking (the run's order), read from its metrics file."""
    return [
        blocking(load_metrics(run_dir, m), m, load_metrics_base(run_dir, m)) for m in measurements
    ]
