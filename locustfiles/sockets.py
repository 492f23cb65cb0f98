"""WebSocket users: one connection each, a message sent and its answer awaited, again and again.

The client is ``websocket-client`` (plain sockets, so Locust's gevent monkey-patching makes it
cooperative; it is what locust-plugins' socket users are built on), never a protocol written
here. Each message answered is one request event (``request_type`` "WS", the endpoint's label,
the round trip in ms): the recorder, the samples, the statistics and the report are the HTTP
ones. A connection that fails to open, a timeout, a connection closed by the server: each is
that message's error, counted, and the user connects again.

``IdleWebSocketUser`` opens a connection and stays silent until the test ends: the endpoint's
``idle`` of them are spawned first (Locust's ``fixed_count``) beside the active users, so the
app's memory and the active users' latency are measured with N connections open. How many were
open at most, and how many could not connect, go into the window's metadata.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import gevent
import websocket
from locust import User, constant, task

from locustfiles import recorder
from locustfiles.protocol import IDLE_CONNECTIONS, IDLE_FAILED, RequestSpec

_INDEX = itertools.count()  # the active users' indexes (idle users send nothing: none)
RECONNECT_S = 0.05  # after a failed connection, before the next attempt
_IDLE = {"open": 0, "most": 0, "failed": 0}


def ws_url(host: str, path: str) -> str:
    """``http://127.0.0.1:8000`` + ``/ws/echo`` → ``ws://127.0.0.1:8000/ws/echo``."""
    base = str(host).rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + path
    return "ws://" + base.removeprefix("http://") + path


def _connect(host: str, spec: RequestSpec, timeout_s: float) -> websocket.WebSocket:
    return websocket.create_connection(
        ws_url(host, spec.path),
        timeout=timeout_s,
        header=[f"{k}: {v}" for k, v in spec.headers],
        enable_multithread=False,
    )


class WebSocketUser(User):
    """Sends the endpoint's message on its connection and waits for the answer, back to back."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.index = next(_INDEX)
        settings = recorder.SETTINGS
        self.spec = settings.requests[0]
        self.timeout_s = settings.timeout_s
        self.message = self.spec.message or "hello"
        self.ws: websocket.WebSocket | None = None

    def on_stop(self) -> None:
        if self.ws is not None:
            self.ws.close()

    @task
    def exchange(self) -> None:
        recorder.IN_FLIGHT.begin(self.index, self.spec.name)
        start_time = time.time()
        start = time.perf_counter()
        reply: Any = ""
        exception: BaseException | None = None
        try:
            if self.ws is None:
                self.ws = _connect(self.host, self.spec, self.timeout_s)
            self.ws.send(self.message)
            reply = self.ws.recv()
        except (OSError, websocket.WebSocketException) as exc:
            exception = exc
            if self.ws is not None:
                self.ws.close()
            self.ws = None
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        self.environment.events.request.fire(
            request_type="WS",
            name=self.spec.name,
            response_time=elapsed_ms,
            response_length=len(reply or ""),
            response=None,
            context={recorder.USER: self.index},
            exception=exception,
            start_time=start_time,
            url=self.spec.path,
        )
        if exception is not None:
            gevent.sleep(RECONNECT_S)  # a refused connection must not spin


class IdleWebSocketUser(User):
    """Opens one connection to the endpoint and sends nothing until the test ends."""

    wait_time = constant(0)
    fixed_count = recorder.SETTINGS.requests[0].idle if recorder.SETTINGS.requests else 0

    def on_start(self) -> None:
        settings = recorder.SETTINGS
        self.ws: websocket.WebSocket | None = None
        try:
            self.ws = _connect(self.host, settings.requests[0], settings.timeout_s)
        except (OSError, websocket.WebSocketException):
            _IDLE["failed"] += 1
            recorder.WINDOW.meta[IDLE_FAILED] = _IDLE["failed"]
            return
        _IDLE["open"] += 1
        _IDLE["most"] = max(_IDLE["most"], _IDLE["open"])
        recorder.WINDOW.meta[IDLE_CONNECTIONS] = _IDLE["most"]

    def on_stop(self) -> None:
        if self.ws is not None:
            self.ws.close()
            _IDLE["open"] -= 1

    @task
    def hold(self) -> None:
        gevent.sleep(3600)  # silent: the test ends it
