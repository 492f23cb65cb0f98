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
                response = self._exchange(spec, request)
            if self.reader is not None:  # a stream's time to first byte (its head comes first)
                response.first_byte_ms = (self.reader.first_body_at - start) * 1000.0
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

    def _exchange(self, spec: RequestSpec, request: bytes) -> Response:
        """Send and read one response. A kept-alive connection the server closed while it sat
        idle (its keep-alive timeout: 5 s in uvicorn) fails before a byte of the answer comes
        back; like every HTTP client's pool, an idempotent request is then sent once more on a
        new connection (counted in ``STALE_RETRIES``). Any other failure is the request's."""
        reused = self.reader is not None
        try:
            return self._once(request)
        except (OSError, ProtocolError):
            reader = self.reader
            stale = reused and (reader is None or reader.received == 0)
            self.close()
            if not stale or spec.method not in IDEMPOTENT:
                raise
        STALE_RETRIES[0] += 1
        return self._once(request)

    def _once(self, request: bytes) -> Response:
        sock, reader = (self.sock, self.reader) if self.reader else self._connect()
        assert sock is not None and reader is not None
        reader.received = 0
        sock.sendall(request)
        return reader.read_response()


IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
STALE_RETRIES = [0]  # requests sent again after a stale kept-alive connection (per process)


def make_client(
    environment: Environment, host: Any, timeout_s: float, context: dict[str, Any] | None = None
) -> RawHTTPClient:
    name, port = parse_host(str(host))
    return RawHTTPClient(environment, name, port, timeout_s, context)
