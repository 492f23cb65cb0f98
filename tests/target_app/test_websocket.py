"""The WebSocket family over a real server: the echo answers each message with itself, the
pitfall's ``time.sleep`` serializes every connection while the async wait and the thread-pool
fix overlap them, and the instrumentation counts messages and open connections."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from target_app.main import create_app
from target_app.settings import Settings
from tests.target_app.conftest import serve


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with serve(create_app(Settings()), ws="websockets-sansio") as url:
        yield url


def _ws(url: str, path: str) -> str:
    return url.replace("http://", "ws://") + path


async def _round_trips(url: str, path: str, connections: int, messages: int = 1) -> float:
    """``connections`` clients at once, each sending ``messages`` one after another; the wall
    time for all of them."""

    async def client() -> None:
        async with connect(_ws(url, path)) as ws:
            for index in range(messages):
                await ws.send(f"hello {index}")
                assert await ws.recv() == f"hello {index}"

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return time.perf_counter() - start


async def test_the_echo_answers_each_message_with_itself(app_url: str) -> None:
    async with connect(_ws(app_url, "/ws/echo")) as ws:
        for text in ("a", "ü" * 100, "x" * 60_000):
            await ws.send(text)
            assert await ws.recv() == text


async def test_the_pitfall_serializes_every_connection_the_fixes_overlap(app_url: str) -> None:
    query = "?ms=100"
    echo = await _round_trips(app_url, "/ws/echo" + query, 5)
    fixed = await _round_trips(app_url, "/ws/fixed/echo" + query, 5)
    pitfall = await _round_trips(app_url, "/ws/pitfall/echo" + query, 5)
    assert echo < 0.35 and fixed < 0.35, (echo, fixed)  # overlapped: about one wait
    assert pitfall >= 0.48, pitfall  # one after another: five waits
    assert pitfall >= 2 * max(echo, fixed)


async def test_a_bad_query_is_refused_before_the_connection_is_accepted(app_url: str) -> None:
    with pytest.raises(InvalidStatus):
        async with connect(_ws(app_url, "/ws/echo?ms=5000")):
            pass


async def test_messages_and_connections_are_counted_like_requests(app_url: str) -> None:
    async with httpx.AsyncClient(base_url=app_url) as http:
        before = (await http.get("/_bench/metrics")).json()["requests_total"]
        async with connect(_ws(app_url, "/ws/echo")) as ws:
            for index in range(7):
                await ws.send(str(index))
                await ws.recv()
            during = (await http.get("/_bench/metrics")).json()
            assert during["gauges"]["websocket_connections"]["now"] == 1.0
        await asyncio.sleep(0.1)
        after = (await http.get("/_bench/metrics")).json()
    # 7 messages, plus the /_bench/metrics reads themselves are not counted
    assert during["requests_total"] - before == 7
    assert after["requests_total"] - before == 7
    assert after["inflight"]["now"] == 0.0
    assert after["gauges"]["websocket_connections"]["now"] == 0.0
