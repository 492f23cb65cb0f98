"""A lean HTTP/1.1 keep-alive client on gevent sockets, for a load generator that is not the
bottleneck.

Why: on one core, Locust's ``FastHttpUser`` (geventhttpclient) tops out near 3,700 requests/s
here while a pinned uvicorn serves ~5,400/s to ``wrk``; this client does ~4,900/s on the same
core, so the baseline measures the server, not the generator. It speaks only what the target
app answers (``locustfiles/http11.py`` parses it): ``Content-Length`` or chunked bodies,
keep-alive, one request at a time per user. Each request fires Locust's ``events.request`` like
any Locust client (stats, recorder); a response it cannot read is that request's error.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import gevent
from gevent import socket
from locust.env import Environment

from locustfiles.http11 import ProtocolError, Reader, Response, encode, parse_host
from locustfiles.protocol import RequestSpec

__all__ = [
    "HTTPStatusError",
    "ProtocolError",
    "RawHTTPClient",
    "Response",
    "encode",
    "make_client",
]


class HTTPStatusError(Exception):
    pass


class RawHTTPClient:
    def __init__(
        self,
        environment: Environment,
        host: str,
        port: int,
        timeout_s: float,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.environment = environment
        self.context = context or {}  # passed to every request event (the recorder's user)
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.sock: socket.socket | None = None
        self.reader: Reader | None = None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.reader = None, None

    def _connect(self) -> tuple[socket.socket, Reader]:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = Reader(functools.partial(sock.recv, 65536))
        self.sock, self.reader = sock, reader
        return sock, reader

    def get(self, path: str, name: str) -> None:
        self.send(RequestSpec(name, path), encode(RequestSpec(name, path), self.host, self.port))

    def send(self, spec: RequestSpec, request: bytes) -> None:
        """One request (``request`` is ``encode(spec, …)``, built once); whatever goes wrong is
        that request's error, never an exception: a status the spec does not expect too."""
        start_time = time.time()
        start = time.perf_counter()
        response: Response | None = None
        exception: BaseException | None = None
        try:
            with gevent.Timeout(self.timeout_s, TimeoutError(f"timed out after {self.timeout_s}s")):
                sock, reader = (self.sock, self.reader) if self.reader else self._connect()
                assert sock is not None
                sock.sendall(request)
                response = reader.read_response()
            if not spec.expects(response.status_code):
                exception = HTTPStatusError(f"HTTP {response.status_code}")
            if not response.keep_alive:
                self.close()
        except (OSError, TimeoutError, ProtocolError) as exc:
            exception = exc
            self.close()
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        self.environment.events.request.fire(
            request_type=spec.method,
            name=spec.name,
            response_time=elapsed_ms,
            response_length=len(response.content) if response else 0,
            response=response,
            context=self.context,
            exception=exception,
            start_time=start_time,
            url=spec.path,
        )


def make_client(
    environment: Environment, host: Any, timeout_s: float, context: dict[str, Any] | None = None
) -> RawHTTPClient:
    name, port = parse_host(str(host))
    return RawHTTPClient(environment, name, port, timeout_s, context)
