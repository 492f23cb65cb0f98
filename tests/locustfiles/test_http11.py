"""The lean client's HTTP/1.1 parser: every malformed response is one ProtocolError, never a
crash of the user that sent the request.

``locustfiles/http11.py`` imports neither Locust nor gevent, so it runs in the test process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from locustfiles.http11 import (
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    ProtocolError,
    Reader,
    Response,
    parse_host,
)


def feeding(data: bytes, sizes: list[int] | None = None) -> Reader:
    """A reader over ``data`` delivered in pieces of ``sizes`` (then b"": the peer closed)."""
    pieces: Iterator[bytes]
    if sizes:
        cuts, at = [], 0
        for size in sizes:
            cuts.append(data[at : at + size])
            at += size
        cuts.append(data[at:])
        pieces = iter([c for c in cuts if c])
    else:
        pieces = iter([data] if data else [])
    return Reader(lambda: next(pieces, b""))


def read(data: bytes) -> Response:
    return feeding(data).read_response()


def test_a_content_length_response() -> None:
    response = read(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello")
    assert response.status_code == 200 and response.content == b"hello"
    assert response.headers[b"x-a"] == b"b" and response.keep_alive


def test_a_chunked_response_with_extensions_and_trailers() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=x\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    reader = feeding(data + b"HTTP/1.1 204 No Content\r\n\r\n")
    assert reader.read_response().content == b"hello world"
    assert reader.read_response().status_code == 204  # the trailer did not leak into it


def test_connection_close_is_reported() -> None:
    response = read(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert not response.keep_alive


def test_no_body_statuses_need_no_length() -> None:
    assert read(b"HTTP/1.1 304 Not Modified\r\n\r\n").content == b""


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "closed"),
        (b"HTTP/1.1 200 OK\r\nContent-Len", "closed"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "conflicting"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "limit"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", "CRLF"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "closed"),
        (b"HTTP/1.1 200 OK\r\n\r\nbody until close", "without Content-Length"),
        (b"HTTP/2 200\r\nContent-Length: 0\r\n\r\n", "bad status line"),
        (b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n", "bad status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "bad header line"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * (MAX_HEAD_BYTES + 10) + b"\r\n\r\n", "longer than"),
    ],
)
def test_malformed_responses_are_one_protocol_error(data: bytes, words: str) -> None:
    with pytest.raises(ProtocolError, match=words):
        read(data)


def test_an_endless_head_stops_at_the_limit() -> None:
    """A server that sends header bytes forever: the reader gives up near the limit."""
    sent = []

    def recv() -> bytes:
        sent.append(4096)
        return b"HTTP/1.1 200 OK\r\n" if len(sent) == 1 else b"X-Pad: " + b"a" * 4089

    with pytest.raises(ProtocolError, match="longer than"):
        Reader(recv).read_response()
    assert sum(sent) <= MAX_HEAD_BYTES + 2 * 4096


def test_an_oversized_chunked_body_is_refused() -> None:
    big = f"{MAX_BODY_BYTES + 1:x}".encode()
    with pytest.raises(ProtocolError, match="longer than"):
        read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + big + b"\r\n")


def test_parse_host() -> None:
    assert parse_host("http://127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert parse_host("http://localhost/x") == ("localhost", 80)
    with pytest.raises(ValueError, match="http://"):
        parse_host("https://127.0.0.1:1")


def test_the_test_process_has_not_imported_locust() -> None:
    assert "locust" not in sys.modules and "gevent.monkey" not in sys.modules


# --- properties ---------------------------------------------------------------------------------

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
HEADERS = st.dictionaries(
    TOKEN.filter(lambda k: k not in ("content-length", "transfer-encoding", "connection")),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 /;=", max_size=20).map(str.strip),
    max_size=5,
)


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, int, dict[bytes, bytes], bytes]:
    status = draw(st.integers(200, 599).filter(lambda s: s not in (204, 304)))
    headers = {k.encode(): v.encode() for k, v in draw(HEADERS).items()}
    body = draw(st.binary(max_size=3000))
    head = b"".join(k + b": " + v + b"\r\n" for k, v in headers.items())
    if draw(st.booleans()):
        sizes = draw(st.lists(st.integers(1, 700), max_size=6))
        chunks, at = [], 0
        for size in [*sizes, len(body)]:
            piece, at = body[at : at + size], at + size
            if piece:
                chunks.append(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        encoded = b"".join(chunks) + b"0\r\n\r\n"
        head += b"Transfer-Encoding: chunked\r\n"
    else:
        encoded = body
        head += f"Content-Length: {len(body)}\r\n".encode()
    data = f"HTTP/1.1 {status} Whatever\r\n".encode() + head + b"\r\n" + encoded
    return data, status, headers, body


@settings(max_examples=300, deadline=None)
@given(responses(), responses(), st.lists(st.integers(1, 97), max_size=40))
def test_valid_responses_parse_back_exactly_whatever_the_packet_sizes(
    first: tuple[bytes, int, dict[bytes, bytes], bytes],
    second: tuple[bytes, int, dict[bytes, bytes], bytes],
    sizes: list[int],
) -> None:
    reader = feeding(first[0] + second[0], sizes)
    for _data, status, headers, body in (first, second):
        response = reader.read_response()
        assert (response.status_code, response.content) == (status, body)
        for key, value in headers.items():
            assert response.headers[key] == value
    assert reader.buffer == b""


@settings(max_examples=300, deadline=None)
@given(responses(), st.data())
def test_a_truncated_response_is_a_protocol_error(
    response: tuple[bytes, int, dict[bytes, bytes], bytes], data: st.DataObject
) -> None:
    whole = response[0]
    cut = data.draw(st.integers(0, len(whole) - 1))
    with pytest.raises(ProtocolError):
        read(whole[:cut])


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(1, 50), max_size=10))
def test_arbitrary_bytes_parse_or_raise_only_protocol_error(junk: bytes, sizes: list[int]) -> None:
    for prefix in (b"", b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"):
        try:
            feeding(prefix + junk, sizes).read_response()
        except ProtocolError:
            pass


def test_the_first_body_byte_is_timed_when_it_arrives_not_with_the_head() -> None:
    """A stream: the head, then each chunk 10 ms apart (a fake clock ticks once per recv)."""
    from locustfiles.http11 import Reader

    packets = iter(
        [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"5\r\nhello\r\n",
            b"5\r\nworld\r\n",
            b"0\r\n\r\n",
        ]
    )
    ticks = iter([0.000, 0.010, 0.020, 0.030])
    reader = Reader(lambda: next(packets), clock=lambda: next(ticks))
    assert reader.read_response().content == b"helloworld"
    assert reader.first_body_at == 0.010


def test_a_body_that_comes_with_its_head_starts_with_it() -> None:
    from locustfiles.http11 import Reader

    packets = iter([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    reader = Reader(lambda: next(packets), clock=lambda: 5.0)
    reader.read_response()
    assert reader.first_body_at == 5.0
    empty = iter([b"HTTP/1.1 204 No Content\r\n\r\n"])
    nothing = Reader(lambda: next(empty), clock=lambda: 7.0)
    nothing.read_response()
    assert nothing.first_body_at != nothing.first_body_at  # NaN: no body
