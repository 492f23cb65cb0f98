"""Server-side signals: X-Process-Time, in-flight requests, event-loop lag, pool gauges.

Installable on any ASGI app without changing it: the harness wraps a user's ``--app`` with
``instrument(app)``; a server the harness does not start adds ``install_instrumentation(app)``.
Everything here is cheap on the hot path (a pure ASGI middleware, a 10 ms ticker) so that the
measurement does not change what it measures. The runner reads ``GET /_bench/metrics`` on its
own connection; each read closes a sampling window (maxima are "since the previous read").
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import psutil
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from target_app.watchdog import Watchdog
from target_app.worker_socket import SOCKETS_ENV, WorkerSocket

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


WATCHDOG_ENV = "BENCH_WATCHDOG_MS"  # how often the watchdog checks the loop; 0 = off
BENCH_PREFIX = "/_bench"
METRICS_PATH = f"{BENCH_PREFIX}/metrics"
INFO_PATH = f"{BENCH_PREFIX}/info"


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
    websockets: int = 0  # WebSocket connections open (a gauge once one has been seen)
    gauges: dict[str, Gauge] = field(default_factory=dict)
    lag_ms: Window = field(default_factory=Window)
    inflight_window: Window = field(default_factory=Window)
    gauge_windows: dict[str, Window] = field(default_factory=dict)
    ticks_total: int = 0
    lag_ms_total: float = 0.0
    lag_ms_max_total: float = 0.0
    started: float = field(default_factory=time.time)
    lag_interval_ms: float = 10.0
    last_tick: float = field(default_factory=time.perf_counter)
    # the scope of the request each running task serves (who is on the loop right now)
    running: dict[asyncio.Task[Any] | None, Scope] = field(default_factory=dict)
    watchdog: Watchdog | None = None

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
            "blocked": self.watchdog.blocked.snapshot() if self.watchdog else None,
        }


_PROCESS = psutil.Process()


class Instrumented:
    """The instrumentation as one pure ASGI middleware, for any ASGI app.

    - counts requests and those in flight, adds ``X-Process-Time`` (seconds, server side);
    - answers ``GET /_bench/metrics`` and ``GET /_bench/info`` itself, before the app sees them,
      so a foreign app needs no route of its own (other ``/_bench/…`` paths go to the app,
      uncounted);
    - runs the loop-lag ticker on the app's event loop: started by the lifespan's startup (or the
      first request, for a server that sends no lifespan) and stopped by its shutdown; lifespan
      messages themselves pass through, so the app's own startup and shutdown still run;
    - keeps which request each running task serves (``Signals.running``), so that whoever
      blocks the loop can be named.
    """

    def __init__(
        self,
        app: ASGIApp,
        signals: Signals | None = None,
        info: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.app = app
        self.signals = signals if signals is not None else Signals()
        self.info = info
        self._ticker: asyncio.Task[None] | None = None
        self._socket: WorkerSocket | None = None  # several workers: each serves its own
        self._socket_task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._lifespan_receive(receive), send)
            return
        if self._ticker is None:
            self._start()
        if scope["type"] == "websocket":
            await self._messages(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in _OWN_ROUTES and scope["method"] in ("GET", "HEAD"):
            await _send_json(send, _OWN_ROUTES[path](self))
            return
        if path.startswith(BENCH_PREFIX):
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        signals = self.signals
        signals.inflight += 1
        task = asyncio.current_task()
        signals.running[task] = scope

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
            signals.inflight -= 1
            signals.requests_total += 1
            signals.running.pop(task, None)

    async def _messages(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket connection: each message received and answered counts as a request (in
        flight from its arrival to the next message sent), so the client's message count and the
        app's agree; the open connections are the ``websocket_connections`` gauge."""
        signals = self.signals
        task = asyncio.current_task()
        signals.running[task] = scope
        signals.websockets += 1
        pending = 0

        async def counted_receive() -> Message:
            nonlocal pending
            message = await receive()
            if message["type"] == "websocket.receive":
                pending += 1
                signals.inflight += 1
            return message

        async def counted_send(message: Message) -> None:
            nonlocal pending
            await send(message)
            if message["type"] == "websocket.send" and pending:
                pending -= 1
                signals.inflight -= 1
                signals.requests_total += 1

        try:
            await self.app(scope, counted_receive, counted_send)
        finally:
            signals.inflight -= pending
            signals.websockets -= 1
            signals.running.pop(task, None)

    def _lifespan_receive(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and self._ticker is None:
                self._start()
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
            return message

        return wrapped

    def _start(self) -> None:
        interval_s = self.signals.lag_interval_ms / 1000.0
        self.signals.last_tick = time.perf_counter()
        self._ticker = asyncio.get_running_loop().create_task(
            sample_loop_lag(self.signals, interval_s), name="bench-loop-lag"
        )
        folder = os.environ.get(SOCKETS_ENV, "")
        if folder:  # one of several worker processes (target_app/worker_socket.py)
            self._socket = WorkerSocket(folder, self.signals.snapshot)
            self._socket_task = asyncio.get_running_loop().create_task(self._socket.start())
        every_ms = float(os.environ.get(WATCHDOG_ENV, "10") or 0)
        if every_ms > 0:  # who blocks the loop (target_app/watchdog.py); 0 turns it off
            self.signals.watchdog = Watchdog(self.signals, interval_s=every_ms / 1000.0)
            self.signals.watchdog.start()

    async def _stop(self) -> None:
        if self._socket is not None:
            await self._socket.stop()
        if self.signals.watchdog is not None:
            self.signals.watchdog.stop()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker

    def describe(self) -> dict[str, Any]:
        """``/_bench/info``: this process, its thread pool and versions, plus the app's own."""
        limiter = anyio.to_thread.current_default_thread_limiter()
        doc: dict[str, Any] = {
            "pid": os.getpid(),
            "threadpool_tokens": limiter.total_tokens,
            "versions": package_versions(VERSIONED_PACKAGES),
            "instrumented": True,
        }
        if self.info is not None:
            doc.update(self.info())
        return doc


VERSIONED_PACKAGES = ("fastapi", "starlette", "uvicorn", "anyio", "pydantic")
_OWN_ROUTES: dict[str, Callable[[Instrumented], dict[str, Any]]] = {
    METRICS_PATH: lambda self: self.signals.snapshot(),
    INFO_PATH: lambda self: self.describe(),
}


async def _send_json(send: Send, doc: dict[str, Any]) -> None:
    body = json.dumps(doc).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def instrument(app: ASGIApp, info: Callable[[], dict[str, Any]] | None = None) -> Instrumented:
    """Wrap an ASGI app (any: FastAPI, Starlette, a bare callable) without changing it."""
    return Instrumented(app, info=info)


def install_instrumentation(app: Any, info: Callable[[], dict[str, Any]] | None = None) -> Signals:
    """The one-liner for a server the harness does not start (``bench run --target``)::

        from target_app.instrumentation import install_instrumentation
        install_instrumentation(app)  # a FastAPI or Starlette app, before it starts

    Adds the middleware (``/_bench/metrics``, ``/_bench/info``, loop lag, thread-pool tokens,
    in-flight requests, CPU, RSS); returns the shared ``Signals`` (also ``app.state.signals``),
    on which the app may register its own gauges.
    """
    signals = Signals()
    app.add_middleware(Instrumented, signals=signals, info=info)
    state = getattr(app, "state", None)
    if state is not None:
        state.signals = signals
    return signals


async def sample_loop_lag(signals: Signals, interval_s: float) -> None:
    """Sleep ``interval_s`` forever; the overshoot is how long the loop could not run."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    signals.register_gauge("threadpool_borrowed", lambda: float(limiter.borrowed_tokens))
    signals.register_gauge("threadpool_total", lambda: float(limiter.total_tokens))
    signals.register_gauge("websocket_connections", lambda: float(signals.websockets))
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        signals.last_tick = time.perf_counter()
        await asyncio.sleep(interval_s)
        lag_ms = max(0.0, (loop.time() - before - interval_s) * 1000.0)
        signals.lag_ms.add(lag_ms)
        signals.ticks_total += 1
        signals.lag_ms_total += lag_ms
        signals.lag_ms_max_total = max(signals.lag_ms_max_total, lag_ms)
        signals.sample_gauges()
