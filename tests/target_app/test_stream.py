"""Stream family: the same bytes and chunks from a sync and an async generator; the sync one
pulls every chunk through the thread pool. Called as raw ASGI, so each body message is seen
when it is sent (httpx's ASGITransport hands over the body only at the end)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI

from target_app.main import create_app
from target_app.routes.stream import chunk
from target_app.settings import Settings

PATHS = ["/sync/stream", "/async/stream"]


@pytest.fixture
async def app() -> AsyncIterator[FastAPI]:
    app = create_app(Settings(threadpool_tokens=40))
    async with app.router.lifespan_context(app):
        yield app


async def call(app: FastAPI, path: str, query: str) -> tuple[int, list[tuple[float, bytes]]]:
    """One GET through the whole ASGI stack: the status and every non-empty body message with
    the time it was sent (seconds since the call started)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    done, requested = asyncio.Event(), False
    start, status, bodies = time.perf_counter(), 0, []

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            if message.get("body"):
                bodies.append((time.perf_counter() - start, bytes(message["body"])))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    return status, bodies


@pytest.mark.parametrize("path", PATHS)
async def test_the_pair_streams_the_same_chunks(app: FastAPI, path: str) -> None:
    status, bodies = await call(app, path, "chunks=5&ms=1&size=32")
    assert status == 200
    assert [body for _, body in bodies] == [chunk(i, 32) for i in range(5)]
    assert all(len(body) == 32 for _, body in bodies)


async def test_sync_and_async_bodies_are_byte_for_byte_equal(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        sync, async_ = [await client.get(p, params={"chunks": 7, "size": 100}) for p in PATHS]
    assert sync.status_code == async_.status_code == 200
    assert sync.content == async_.content and len(sync.content) == 700
    assert sync.headers["content-type"] == async_.headers["content-type"]
    assert sync.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("path", PATHS)
async def test_chunks_leave_as_they_are_made_not_at_the_end(app: FastAPI, path: str) -> None:
    """5 chunks 40 ms apart arrive spread over ≈ 160 ms, not together at the end (a body sent
    whole would bring them within a millisecond). The spread, not the first chunk's time: a
    busy VM once held the first one 166 ms, and the rest still came 40 ms apart."""
    _, bodies = await call(app, path, "chunks=5&ms=40")
    first, last = bodies[0][0], bodies[-1][0]
    assert last - first > 0.5 * 4 * 0.040, bodies
    assert last > 0.15  # the waits really happened


@pytest.mark.parametrize(
    "query",
    ["chunks=0", "chunks=101", "ms=-1", "ms=101", "size=7", "size=65537", "chunks=abc", "ms=1.5"],
)
@pytest.mark.parametrize("path", PATHS)
async def test_inputs_are_bounded(app: FastAPI, path: str, query: str) -> None:
    status, _ = await call(app, path, query)
    assert status == 422


async def _streams(app: FastAPI, path: str, n: int) -> float:
    start = time.perf_counter()
    results = await asyncio.gather(*(call(app, path, "chunks=5&ms=40") for _ in range(n)))
    assert all(status == 200 and len(bodies) == 5 for status, bodies in results)
    return time.perf_counter() - start


async def test_a_sync_generator_holds_a_token_per_chunk_pull() -> None:
    """4 tokens, 8 concurrent streams of 5 × 40 ms: the sync generators share 4 tokens (≈ 2 ×
    200 ms), the async ones overlap (≈ 200 ms); while they run, the sync ones hold every token."""
    n = 8
    app = create_app(Settings(threadpool_tokens=4))
    limiter = anyio.to_thread.current_default_thread_limiter()
    async with app.router.lifespan_context(app):
        await _streams(app, "/sync/stream", n)  # start the worker threads
        batch = asyncio.ensure_future(_streams(app, "/sync/stream", n))
        await asyncio.sleep(0.1)
        held_sync = limiter.borrowed_tokens
        sync = await batch
        batch = asyncio.ensure_future(_streams(app, "/async/stream", n))
        await asyncio.sleep(0.1)
        held_async = limiter.borrowed_tokens
        async_ = await batch
    assert held_sync == 4 and held_async == 0
    assert sync / async_ > 1.5, (sync, async_)
