"""Server-side signals: X-Process-Time, in-flight requests, event-loop lag, pool gauges.

Everything here is cheap on the hot path (a pure ASGI middleware, a 10 ms ticker) so that the
measurement does not change what it measures. The runner reads ``GET /_bench/metrics`` on its
own connection; each read closes a sampling window (maxima are "since the previous read").
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import psutil
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Gauge = Callable[[], float]


def package_versions(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Installed versions of ``names`` ("not installed" for a missing one)."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


_BENCH_PREFIX = "/_bench"


@dataclass
class Window:
    """Running statistics of one gauge between two reads."""

    maximum: float = 0.0
    total: float = 0.0
    count: int = 0

    def add(self, value: float) -> None:
        self.maximum = max(self.maximum, value)
        self.total += value
        self.count += 1

    def read(self, current: float | None = None) -> dict[str, float]:
        mean = self.total / self.count if self.count else (current or 0.0)
        out = {"max": self.maximum if self.count else (current or 0.0), "mean": mean}
        if current is not None:
            out["now"] = current
        self.maximum, self.total, self.count = 0.0, 0.0, 0
        return out


@dataclass
class Signals:
    """Shared state of the instrumentation, kept on ``app.state.signals``."""

    inflight: int = 0
    requests_total: int = 0
    gauges: dict[str, Gauge] = field(default_factory=dict)
    lag_ms: Window = field(default_factory=Window)
    inflight_window: Window = field(default_factory=Window)
    gauge_windows: dict[str, Window] = field(default_factory=dict)
    ticks_total: int = 0
    lag_ms_total: float = 0.0
    lag_ms_max_total: float = 0.0
    started: float = field(default_factory=time.time)

    def register_gauge(self, name: str, gauge: Gauge) -> None:
        """A workload family exposes e.g. its DB pool's checked-out connections."""
        self.gauges[name] = gauge
        self.gauge_windows[name] = Window()

    def sample_gauges(self) -> None:
        self.inflight_window.add(self.inflight)
        for name, gauge in self.gauges.items():
            try:
                self.gauge_windows[name].add(float(gauge()))
            except Exception:  # a gauge must never break the sampler
                continue

    def snapshot(self) -> dict[str, Any]:
        proc = _PROCESS
        cpu = proc.cpu_times()
        children_cpu = 0.0  # e.g. the CPU family's process-pool workers, on the same core
        for child in proc.children(recursive=True):
            try:
                times = child.cpu_times()
            except psutil.Error:
                continue
            children_cpu += times.user + times.system
        gauges = {}
        for name, gauge in self.gauges.items():
            try:
                now: float | None = float(gauge())
            except Exception:
                now = None
            gauges[name] = self.gauge_windows[name].read(now)
        return {
            "t": time.time(),
            "pid": os.getpid(),
            "cpu_s": cpu.user + cpu.system + children_cpu,
            "rss_bytes": proc.memory_info().rss,
            "threads": proc.num_threads(),
            "requests_total": self.requests_total,
            "inflight": self.inflight_window.read(float(self.inflight)),
            "loop_lag_ms": self.lag_ms.read(),
            "loop_ticks_total": self.ticks_total,
            "loop_lag_ms_max_total": self.lag_ms_max_total,
            "gauges": gauges,
        }


_PROCESS = psutil.Process()


class ProcessTimeMiddleware:
    """Adds ``X-Process-Time`` (seconds, server side) and counts in-flight requests."""

    def __init__(self, app: ASGIApp, signals: Signals) -> None:
        self.app = app
        self.signals = signals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counted = not scope["path"].startswith(_BENCH_PREFIX)
        start = time.perf_counter()
        signals = self.signals
        if counted:
            signals.inflight += 1

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = time.perf_counter() - start
                headers = list(message.get("headers", []))
                headers.append((b"x-process-time", f"{elapsed:.6f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            if counted:
                signals.inflight -= 1
                signals.requests_total += 1


async def sample_loop_lag(signals: Signals, interval_s: float) -> None:
    """Sleep ``interval_s`` forever; the overshoot is how long the loop could not run."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    signals.register_gauge("threadpool_borrowed", lambda: float(limiter.borrowed_tokens))
    signals.register_gauge("threadpool_total", lambda: float(limiter.total_tokens))
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(interval_s)
        lag_ms = max(0.0, (loop.time() - before - interval_s) * 1000.0)
        signals.lag_ms.add(lag_ms)
        signals.ticks_total += 1
        signals.lag_ms_total += lag_ms
        signals.lag_ms_max_total = max(signals.lag_ms_max_total, lag_ms)
        signals.sample_gauges()
