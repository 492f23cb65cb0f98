"""A lean HTTP/1.1 keep-alive client on gevent sockets, for a load generator that is not the
bottleneck.

Why: on one core, Locust's ``FastHttpUser`` (geventhttpclient) tops out near 3,700 requests/s
here while a pinned uvicorn serves ~5,400/s to ``wrk``; this client does ~4,900/s on the same
core, so the baseline measures the server, not the generator. It speaks only what the target
app answers: ``Content-Length`` or chunked bodies, keep-alive, one request at a time per user.
Each request fires Locust's ``events.request`` like any Locust client (stats, recorder).
"""

from __future__ import annotations

import time
from typing import Any

import gevent
from gevent import socket
from locust.env import Environment


class HTTPStatusError(Exception):
    pass


class ProtocolError(Exception):
    pass


class Response:
    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: dict[bytes, bytes], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content


class RawHTTPClient:
    def __init__(self, environment: Environment, host: str, port: int, timeout_s: float) -> None:
        self.environment = environment
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buffer = sock, b""
        return sock

    def get(self, path: str, name: str) -> None:
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode()
        start_time = time.time()
        start = time.perf_counter()
        response: Response | None = None
        exception: BaseException | None = None
        try:
            with gevent.Timeout(self.timeout_s, TimeoutError(f"timed out after {self.timeout_s}s")):
                sock = self.sock or self._connect()
                sock.sendall(request)
                response = self._read_response(sock)
            if response.status_code >= 400:
                exception = HTTPStatusError(f"HTTP {response.status_code}")
            if response.headers.get(b"connection", b"").lower() == b"close":
                self.close()
        except (OSError, TimeoutError, ProtocolError) as exc:
            exception = exc
            self.close()
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        self.environment.events.request.fire(
            request_type="GET",
            name=name,
            response_time=elapsed_ms,
            response_length=len(response.content) if response else 0,
            response=response,
            context={},
            exception=exception,
            start_time=start_time,
            url=path,
        )

    def _fill(self, sock: socket.socket) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ProtocolError("connection closed by the server")
        self.buffer += chunk

    def _read_until(self, sock: socket.socket, marker: bytes) -> bytes:
        while (index := self.buffer.find(marker)) < 0:
            self._fill(sock)
        line, self.buffer = self.buffer[:index], self.buffer[index + len(marker) :]
        return line

    def _read_exactly(self, sock: socket.socket, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill(sock)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _read_response(self, sock: socket.socket) -> Response:
        head = self._read_until(sock, b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ProtocolError(f"bad status line {lines[0][:60]!r}")
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            key, _, value = line.partition(b":")
            headers[key.strip().lower()] = value.strip()
        if b"content-length" in headers:
            body = self._read_exactly(sock, int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = self._read_chunked(sock)
        else:
            raise ProtocolError("response without Content-Length or chunked encoding")
        return Response(int(parts[1]), headers, body)

    def _read_chunked(self, sock: socket.socket) -> bytes:
        body = []
        while True:
            size = int(self._read_until(sock, b"\r\n").split(b";")[0], 16)
            if size == 0:
                self._read_until(sock, b"\r\n")
                return b"".join(body)
            body.append(self._read_exactly(sock, size))
            self._read_exactly(sock, 2)


def parse_host(host: str) -> tuple[str, int]:
    """``http://127.0.0.1:8000`` → ``("127.0.0.1", 8000)``."""
    if not host.startswith("http://"):
        raise ValueError(f"only http:// hosts are supported, got {host!r}")
    netloc = host[len("http://") :].split("/", 1)[0]
    name, _, port = netloc.rpartition(":")
    return (name, int(port)) if name else (netloc, 80)


def make_client(environment: Environment, host: Any, timeout_s: float) -> RawHTTPClient:
    name, port = parse_host(str(host))
    return RawHTTPClient(environment, name, port, timeout_s)
