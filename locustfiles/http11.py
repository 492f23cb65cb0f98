"""HTTP/1.1 for the lean load-generator client: requests encoded (``encode``), responses read
from a byte stream (``Reader``).

Pure (no socket, no gevent, no Locust): ``Reader`` pulls bytes through a ``recv`` callable, so
the parser is tested in the test process and ``rawhttp`` feeds it from a gevent socket. It reads
what a server may answer — ``Content-Length`` or chunked bodies (with extensions and trailers),
keep-alive or ``Connection: close`` — and turns anything else into one ``ProtocolError``:
a truncated head or body, a connection closed mid-response, a bad status line, a bad, negative
or conflicting ``Content-Length``, a bad chunk size, a missing CRLF after a chunk, a head or a
body over its limit. Nothing else escapes, so a bad response is one counted error for its
request, never a crashed user.

Fast on purpose (the generator must not be the bottleneck): ``bytes.find`` and slicing on one
buffer, no per-byte Python loop.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

from locustfiles.protocol import RequestSpec

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 4 * 1024  # a chunk-size line or a trailer line
MAX_TRAILERS = 100
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9]{2})(?: .*)?")
_NO_BODY = frozenset({204, 304})


class ProtocolError(Exception):
    """The response is not one this client can read: the request counts as an error."""


class Response:
    __slots__ = ("status_code", "headers", "content", "first_byte_ms")

    def __init__(self, status_code: int, headers: dict[bytes, bytes], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.first_byte_ms = math.nan  # from the request's start to its body's first byte

    @property
    def keep_alive(self) -> bool:
        """May the connection carry the next request?"""
        return self.headers.get(b"connection", b"").lower() != b"close"


class Reader:
    """Responses, one after another, from ``recv`` (returns b"" when the peer closed)."""

    __slots__ = ("recv", "buffer", "received", "clock", "first_body_at", "_last_fill", "_in_body")

    def __init__(
        self,
        recv: Callable[[], bytes],
        buffer: bytes = b"",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.recv = recv
        self.buffer = buffer
        self.received = 0  # bytes read from the connection so far (a stale one reads none)
        self.clock = clock
        # when the first byte of the last response's body arrived (``clock``; NaN: no body yet):
        # a stream's time to first byte, its head being sent before its first chunk
        self.first_body_at = math.nan
        self._last_fill = math.nan
        self._in_body = False

    def read_response(self) -> Response:
        self.first_body_at, self._in_body = math.nan, False
        head = self._read_until(b"\r\n\r\n", MAX_HEAD_BYTES, "response head")
        self._in_body = True
        if self.buffer:  # the body's first bytes came with the head
            self.first_body_at = self._last_fill
        status_line, _, header_block = head.partition(b"\r\n")
        status = _status(status_line)
        headers = _headers(header_block)
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = self._read_chunked()
        elif b"content-length" in headers:
            body = self._read_exactly(_content_length(headers[b"content-length"]))
        elif status in _NO_BODY or status < 200:
            body = b""
        else:
            raise ProtocolError("response without Content-Length or chunked encoding")
        return Response(status, headers, body)

    def _fill(self) -> None:
        chunk = self.recv()
        if not chunk:
            raise ProtocolError("connection closed by the server")
        self._last_fill = self.clock()
        if self._in_body and self.first_body_at != self.first_body_at:  # NaN: the first of it
            self.first_body_at = self._last_fill
        self.received += len(chunk)
        self.buffer += chunk

    def _read_until(self, marker: bytes, limit: int, what: str) -> bytes:
        start = 0
        while (index := self.buffer.find(marker, start)) < 0:
            if len(self.buffer) > limit:
                raise ProtocolError(f"{what} longer than {limit} bytes")
            start = max(0, len(self.buffer) - len(marker) + 1)
            self._fill()
        if index > limit:
            raise ProtocolError(f"{what} longer than {limit} bytes")
        line, self.buffer = self.buffer[:index], self.buffer[index + len(marker) :]
        return line

    def _read_exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _read_chunked(self) -> bytes:
        body: list[bytes] = []
        total = 0
        while True:
            line = self._read_until(b"\r\n", MAX_LINE_BYTES, "chunk-size line")
            size_text = line.split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise ProtocolError(f"bad chunk size {size_text[:20]!r}")
            size = int(size_text, 16)
            if size == 0:
                self._skip_trailers()
                return b"".join(body)
            total += size
            if total > MAX_BODY_BYTES:
                raise ProtocolError(f"chunked body longer than {MAX_BODY_BYTES} bytes")
            body.append(self._read_exactly(size))
            if self._read_exactly(2) != b"\r\n":
                raise ProtocolError("chunk not followed by CRLF")

    def _skip_trailers(self) -> None:
        for _ in range(MAX_TRAILERS):
            if not self._read_until(b"\r\n", MAX_LINE_BYTES, "trailer line"):
                return
        raise ProtocolError(f"more than {MAX_TRAILERS} trailer lines")


def _status(line: bytes) -> int:
    match = _STATUS_LINE.fullmatch(line)
    if match is None:
        raise ProtocolError(f"bad status line {line[:60]!r}")
    return int(match.group(1))


def _headers(block: bytes) -> dict[bytes, bytes]:
    headers: dict[bytes, bytes] = {}
    for line in block.split(b"\r\n") if block else ():
        key, colon, value = line.partition(b":")
        key = key.strip().lower()
        if not colon or not key:
            raise ProtocolError(f"bad header line {line[:60]!r}")
        value = value.strip()
        if key == b"content-length" and headers.get(key, value) != value:
            raise ProtocolError("conflicting Content-Length headers")
        headers[key] = value
    return headers


def _content_length(value: bytes) -> int:
    if not value.isdigit() or len(value) > 12:
        raise ProtocolError(f"bad Content-Length {value[:20]!r}")
    size = int(value)
    if size > MAX_BODY_BYTES:
        raise ProtocolError(f"Content-Length {size} over the {MAX_BODY_BYTES}-byte limit")
    return size


def parse_host(host: str) -> tuple[str, int]:
    """``http://127.0.0.1:8000`` → ``("127.0.0.1", 8000)``."""
    if not host.startswith("http://"):
        raise ValueError(f"only http:// hosts are supported, got {host!r}")
    netloc = host[len("http://") :].split("/", 1)[0]
    name, _, port = netloc.rpartition(":")
    return (name, int(port)) if name else (netloc, 80)


def encode(spec: RequestSpec, host: str, port: int) -> bytes:
    """The request's bytes: method, path, Host, the spec's headers and its JSON body."""
    lines = [f"{spec.method} {spec.path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in spec.headers]
    body = spec.body.encode()
    if body:
        if not any(name.lower() == "content-type" for name, _ in spec.headers):
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
