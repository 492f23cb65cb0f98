"""Baseline and sleep pairs through ASGITransport, and the pitfall's effect under concurrency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from target_app.main import create_app
from target_app.settings import Settings


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(threadpool_tokens=40))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_hello_pair_returns_same_payload(client: httpx.AsyncClient) -> None:
    sync, async_ = await client.get("/sync/hello"), await client.get("/async/hello")
    assert sync.status_code == async_.status_code == 200
    assert sync.json() == async_.json() == {"message": "hello"}


@pytest.mark.parametrize("prefix", ["sync", "async", "pitfall", "fixed"])
async def test_sleep_variants_return_same_payload(client: httpx.AsyncClient, prefix: str) -> None:
    response = await client.get(f"/{prefix}/sleep", params={"ms": 5})
    assert response.status_code == 200
    assert response.json() == {"workload": "sleep", "ms": 5}
    assert float(response.headers["x-process-time"]) >= 0.004


@pytest.mark.parametrize("ms", ["-1", "10001", "abc", "1.5"])
@pytest.mark.parametrize("prefix", ["sync", "async", "pitfall", "fixed"])
async def test_sleep_ms_is_validated(client: httpx.AsyncClient, prefix: str, ms: str) -> None:
    response = await client.get(f"/{prefix}/sleep", params={"ms": ms})
    assert response.status_code == 422


async def test_every_response_has_process_time(client: httpx.AsyncClient) -> None:
    for path in ("/sync/hello", "/async/hello", "/nope"):
        response = await client.get(path)
        assert "x-process-time" in response.headers, path


async def test_threadpool_tokens_are_applied_and_reported() -> None:
    app = create_app(Settings(threadpool_tokens=7))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            info = (await c.get("/_bench/info")).json()
    assert info["threadpool_tokens"] == 7
    assert info["settings"]["threadpool_tokens"] == 7
    assert {"fastapi", "starlette", "uvicorn"} <= set(info["versions"])


async def _concurrent(client: httpx.AsyncClient, path: str, n: int) -> float:
    start = time.perf_counter()
    responses = await asyncio.gather(*(client.get(path) for _ in range(n)))
    assert all(r.status_code == 200 for r in responses)
    return time.perf_counter() - start


async def test_async_sleep_overlaps_while_pitfall_serializes(client: httpx.AsyncClient) -> None:
    """20 concurrent 200 ms sleeps: async ones overlap (≈ 1 × 200 ms), pitfall ones queue
    behind the blocked loop (≈ 20 × 200 ms). Ratios only, generous margins."""
    n, ms = 20, 200
    overlapped = await _concurrent(client, f"/async/sleep?ms={ms}", n)
    serialized = await _concurrent(client, f"/pitfall/sleep?ms={ms}", n)
    fixed = await _concurrent(client, f"/fixed/sleep?ms={ms}", n)
    single = ms / 1000
    assert serialized > 0.8 * n * single, "pitfall sleeps should run one after another"
    assert serialized / overlapped > 5, "async sleeps should overlap"
    assert serialized / fixed > 5, "the fix (run_in_threadpool) should overlap too"


async def test_sync_sleep_is_capped_by_threadpool_tokens() -> None:
    """With 4 tokens, 16 concurrent 200 ms `def` sleeps take ≈ 4 rounds; with 40, ≈ 1 round."""
    elapsed = {}
    for tokens in (4, 40):
        app = create_app(Settings(threadpool_tokens=tokens))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                await _concurrent(c, "/sync/sleep?ms=1", 16)  # start the worker threads
                elapsed[tokens] = await _concurrent(c, "/sync/sleep?ms=200", 16)
    assert elapsed[4] / elapsed[40] > 2.0, elapsed


async def test_metrics_show_loop_lag_for_the_pitfall(client: httpx.AsyncClient) -> None:
    """The 10 ms ticker is late by about one blocking call under the pitfall, not under async
    sleep. Means, not maxima, are compared: one scheduling hiccup of a busy machine must not
    decide the test."""
    ms = 200
    await client.get("/_bench/metrics")  # close the previous window
    await _concurrent(client, f"/async/sleep?ms={ms}", 10)
    calm = (await client.get("/_bench/metrics")).json()["loop_lag_ms"]
    await _concurrent(client, f"/pitfall/sleep?ms={ms}", 5)
    await asyncio.sleep(0.05)  # let the ticker observe its overshoot
    blocked = (await client.get("/_bench/metrics")).json()["loop_lag_ms"]
    assert blocked["max"] > 0.8 * ms, "the ticker should be late by about one blocking call"
    assert blocked["mean"] > 10 * max(calm["mean"], 1.0), (calm, blocked)
