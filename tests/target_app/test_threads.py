"""Threads family: asyncio's default executor is a different, smaller pool than anyio's tokens,
and a ``def`` dependency takes a token even on an ``async def`` route. Real concurrency through
ASGITransport; ratios with margins, never tight wall-clock bounds."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator

import anyio.to_thread
import httpx
import pytest

from target_app.main import create_app
from target_app.routes.threads import default_executor_workers
from target_app.settings import Settings

PATHS = ["/fixed/sleep/to-thread", "/fixed/sleep/executor", "/sync/dependency", "/async/dependency"]


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of a fresh app with its lifespan running."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with served(Settings(threadpool_tokens=40)) as c:
        yield c


async def _concurrent(client: httpx.AsyncClient, path: str, n: int) -> float:
    start = time.perf_counter()
    responses = await asyncio.gather(*(client.get(path) for _ in range(n)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    return time.perf_counter() - start


async def _gauge(client: httpx.AsyncClient, name: str) -> float:
    return float((await client.get("/_bench/metrics")).json()["gauges"][name]["now"])


@pytest.mark.parametrize("path", PATHS)
async def test_payload(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, params={"ms": 5})
    assert response.status_code == 200
    assert response.json()["ms"] == 5
    assert float(response.headers["x-process-time"]) >= 0.004


@pytest.mark.parametrize("ms", ["-1", "10001", "abc", "1.5"])
@pytest.mark.parametrize("path", PATHS)
async def test_ms_is_validated(client: httpx.AsyncClient, path: str, ms: str) -> None:
    assert (await client.get(path, params={"ms": ms})).status_code == 422


async def test_the_default_executor_size_is_reported(client: httpx.AsyncClient) -> None:
    info = (await client.get("/_bench/info")).json()
    workers = info["extra"]["executor"]["workers"]
    assert workers == default_executor_workers()
    assert workers == min(32, (os.cpu_count() or 1) + 4)  # Python 3.8-3.12's documented size


@pytest.mark.parametrize("path", ["/fixed/sleep/to-thread", "/fixed/sleep/executor"])
async def test_the_default_executor_caps_below_the_tokens(path: str) -> None:
    """2 × workers concurrent 200 ms sleeps: ≈ 2 waves through the default executor, ≈ 1 wave
    through run_in_threadpool (tokens ≥ the calls). The gauge sees every call in flight."""
    workers = default_executor_workers()
    n = 2 * workers
    async with served(Settings(threadpool_tokens=max(40, n))) as c:
        # start every worker thread of both pools first (calls long enough to overlap)
        await _concurrent(c, "/fixed/sleep?ms=50", n)
        await _concurrent(c, f"{path}?ms=50", n)
        batch = asyncio.ensure_future(_concurrent(c, f"{path}?ms=200", n))
        await asyncio.sleep(0.05)
        in_flight = await _gauge(c, "executor_in_flight")
        executor = await batch
        after = await _gauge(c, "executor_in_flight")
        # the better of two batches: on a busy machine one batch may wait on a late thread
        tokens = min([await _concurrent(c, "/fixed/sleep?ms=200", n) for _ in range(2)])
    assert in_flight == n and after == 0
    assert executor / tokens > 1.5, (executor, tokens)


async def test_a_def_dependency_holds_a_token_an_async_one_does_not() -> None:
    """4 tokens, 16 concurrent 200 ms dependencies: the `def` one ≈ 4 waves, the `async def`
    one ≈ 1 wave; while they run, the `def` ones hold every token, the async ones none."""
    n, ms = 16, 200
    async with served(Settings(threadpool_tokens=4)) as c:
        await _concurrent(c, "/sync/dependency?ms=1", n)  # start the worker threads
        batch = asyncio.ensure_future(_concurrent(c, f"/sync/dependency?ms={ms}", n))
        await asyncio.sleep(0.05)
        held_sync = anyio.to_thread.current_default_thread_limiter().borrowed_tokens
        sync = await batch
        batch = asyncio.ensure_future(_concurrent(c, f"/async/dependency?ms={ms}", n))
        await asyncio.sleep(0.05)
        held_async = anyio.to_thread.current_default_thread_limiter().borrowed_tokens
        async_ = await batch
    assert held_sync == 4 and held_async == 0
    assert sync / async_ > 2.0, (sync, async_)
