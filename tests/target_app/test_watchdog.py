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

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from target_app.instrumentation import instrument
from target_app.watchdog import user_frame


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


def _blocked(client: httpx.Client, url: str) -> dict[str, float]:
    doc = client.get(f"{url}/_bench/metrics").json()["blocked"]
    return {r["route"]: r for r in doc["routes"]}


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
    named = sum(f["seconds"] for f in block["frames"] if "test_watchdog.py" in f["frame"])
    assert named >= 0.9 * block["seconds"]
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


@pytest.mark.parametrize("value", ["0", ""])
def test_it_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BENCH_WATCHDOG_MS", value)
    with serve() as url, httpx.Client(timeout=10) as client:
        client.get(f"{url}/block/50")
        assert client.get(f"{url}/_bench/metrics").json()["blocked"] is None
