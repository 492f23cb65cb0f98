"""The watchdog names the route and the line that held the event loop, and nothing else: a
route that calls ``time.sleep`` in ``async def`` against one that awaits, served for real."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from target_app.instrumentation import instrument
from target_app.watchdog import (
    MAX_FRAMES,
    MAX_ROUTES,
    NO_REQUEST,
    NO_USER_CODE,
    OTHER,
    RouteBlock,
    Watchdog,
    route_of,
    user_frame,
)


def hog(ms: int) -> None:
    time.sleep(ms / 1000)  # holds the loop from a plain callback: no request is running


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/block/{ms}")
    async def block(ms: int) -> dict[str, int]:
        time.sleep(ms / 1000)  # holds the loop
        return {"ms": ms}

    @app.get("/fine/{ms}")
    async def fine(ms: int) -> dict[str, int]:
        await asyncio.sleep(ms / 1000)
        return {"ms": ms}

    @app.get("/later/{ms}")
    async def later(ms: int) -> dict[str, int]:
        asyncio.get_running_loop().call_later(0.01, hog, ms)
        return {"ms": ms}

    return app


@contextlib.contextmanager
def serve() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(instrument(_app()), log_level="warning", lifespan="on", loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _blocked(client: httpx.Client, url: str) -> dict[str, Any]:
    doc = client.get(f"{url}/_bench/metrics").json()["blocked"]
    return {r["route"]: r for r in doc["routes"]}


def _named(route: dict[str, Any], where: str = "test_watchdog.py") -> float:
    """Seconds of ``route`` blamed on a frame of ``where`` (user code)."""
    return sum(f["seconds"] for f in route["frames"] if where in f["frame"])


def test_the_blocking_route_and_its_line_are_named_and_the_awaiting_one_is_not() -> None:
    with serve() as url, httpx.Client(timeout=10) as client:
        for _ in range(5):
            client.get(f"{url}/block/100")

        async def concurrently() -> None:
            async with httpx.AsyncClient(timeout=10) as aclient:
                await asyncio.gather(*(aclient.get(f"{url}/fine/100") for _ in range(20)))

        asyncio.run(concurrently())
        routes = _blocked(client, url)
    assert "GET /fine/{ms}" not in routes
    block = routes["GET /block/{ms}"]
    # 5 × 100 ms held; the watchdog sees it from 20 ms past the due tick, in 10 ms steps
    assert 0.5 * 0.5 <= block["seconds"] <= 0.5 * 1.2
    user_code = sum(
        f["seconds"] for r in routes.values() for f in r["frames"] if f["frame"] != NO_USER_CODE
    )  # what the report blames on routes (a late loop with no user code is shown apart)
    assert _named(block) >= 0.9 * user_code
    top = max(block["frames"], key=lambda f: f["seconds"])
    assert top["frame"].endswith(" block") and "time.sleep(ms / 1000)" in top["line"]


def test_library_frames_are_skipped_to_the_users_own() -> None:
    def user() -> tuple[object, object]:
        found: list[tuple[object, object]] = []

        class Hook(json.JSONEncoder):
            def default(self, o: object) -> object:
                found.append(user_frame(sys._getframe(1)))  # the frame below: json's
                return 0

        json.dumps(object(), cls=Hook)
        return found[0]

    blamed, innermost = user()
    assert blamed is not None and innermost is not None
    assert "json" in innermost.f_code.co_filename  # type: ignore[attr-defined]
    assert blamed.f_code.co_name == "user"  # type: ignore[attr-defined]
    assert user_frame(None) == (None, None)


def test_a_block_outside_any_request_is_no_requests() -> None:
    with serve() as url, httpx.Client(timeout=10) as client:
        client.get(f"{url}/later/100")
        time.sleep(0.3)  # the callback runs 10 ms after the answer and holds the loop 100 ms
        routes = _blocked(client, url)
    assert "GET /later/{ms}" not in routes
    (frame,) = routes[NO_REQUEST]["frames"]
    assert frame["frame"].endswith(" hog") and "time.sleep(ms / 1000)" in frame["line"]


def test_route_labels_are_templates_else_the_raw_path() -> None:
    class Route:
        path = "/items/{item_id}"

    assert (
        route_of({"method": "GET", "path": "/items/7", "route": Route()}) == "GET /items/{item_id}"
    )
    assert route_of({"method": "POST", "path": "/nowhere"}) == "POST /nowhere"
    assert route_of(None) == NO_REQUEST


def test_memory_is_bounded_by_lumping_the_rest_into_other() -> None:
    block = RouteBlock()
    for i in range(MAX_FRAMES + 5):
        block.add(f"app.py:{i} f", "x()", "", 0.1)
    assert len(block.frames) == MAX_FRAMES + 1 and block.frames[OTHER].seconds == pytest.approx(0.5)
    assert (
        block.seconds == pytest.approx(0.1 * (MAX_FRAMES + 5)) and block.samples == MAX_FRAMES + 5
    )
    signals = SimpleNamespace(running={}, lag_interval_ms=10.0)
    watchdog = Watchdog(signals)  # not started: _sample is called by hand, no task running
    for i in range(MAX_ROUTES + 3):  # unrouted requests: each raw path would be a route
        signals.running[None] = {"method": "GET", "path": f"/{i}"}
        watchdog._sample(0.1)
    routes = watchdog.blocked.snapshot()["routes"]
    assert len(routes) == MAX_ROUTES + 1
    assert routes[-1]["route"] == OTHER and routes[-1]["samples"] == 3
    assert watchdog.blocked.total_s == pytest.approx(0.1 * (MAX_ROUTES + 3))


@pytest.mark.parametrize("value", ["0", ""])
def test_it_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BENCH_WATCHDOG_MS", value)
    with serve() as url, httpx.Client(timeout=10) as client:
        client.get(f"{url}/block/50")
        assert client.get(f"{url}/_bench/metrics").json()["blocked"] is None


def test_a_loop_that_is_not_running_is_not_blocked_and_its_closing_ends_the_thread() -> None:
    """An app started by its first request (no lifespan shutdown, e.g. an in-process client):
    its loop pauses between uses and is closed at the end; the thread must neither blame the
    pause on a route nor outlive the loop (leaked watchdogs would each take the GIL)."""
    signals = SimpleNamespace(running={}, lag_interval_ms=10.0, last_tick=time.perf_counter())
    watchdog = Watchdog(signals)
    loop = asyncio.new_event_loop()

    async def start() -> None:
        signals.last_tick = time.perf_counter()
        watchdog.start()

    loop.run_until_complete(start())
    time.sleep(0.2)  # the loop is not running: its ticker cannot tick, yet nothing is blocked
    loop.run_until_complete(asyncio.sleep(0.001))  # resumed: the pause is not a stall either
    assert watchdog.blocked.total_s == 0
    assert watchdog._thread is not None and watchdog._thread.is_alive()
    loop.close()
    watchdog._thread.join(1.0)
    assert not watchdog._thread.is_alive()
