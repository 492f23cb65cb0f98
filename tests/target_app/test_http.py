"""The http family against a real upstream over TCP: payloads, error mapping, bounds, pitfall."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

HttpAppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

PAIRED = [
    "/sync/http/requests",
    "/sync/http/httpx",
    "/async/http/httpx",
    "/async/http/aiohttp",
    "/async/http/httpx2",
    "/async/http/httpx-aiohttp",
    "/async/http/httpx-per-request",
    "/pitfall/http",
    "/fixed/http",
]


async def _concurrently(client: httpx.AsyncClient, url: str, n: int) -> float:
    start = time.perf_counter()
    resps = await asyncio.gather(*(client.get(url) for _ in range(n)))
    elapsed = time.perf_counter() - start
    assert [r.status_code for r in resps] == [200] * n
    return elapsed


async def test_every_endpoint_returns_the_same_payload(http_app: httpx.AsyncClient) -> None:
    bodies = {}
    for path in PAIRED:
        resp = await http_app.get(path, params={"latency_ms": 0, "size": 1000})
        assert resp.status_code == 200, (path, resp.text)
        bodies[path] = resp.json()
    expected = {
        "workload": "http",
        "latency_ms": 0,
        "size": 1000,
        "upstream_status": 200,
        "upstream_bytes": 1000,
    }
    assert all(body == expected for body in bodies.values()), bodies


async def test_latency_passes_through(http_app: httpx.AsyncClient) -> None:
    async def timed(path: str) -> float:
        start = time.perf_counter()
        resp = await http_app.get(path, params={"latency_ms": 200})
        assert resp.status_code == 200, path
        return time.perf_counter() - start

    elapsed = await asyncio.gather(*(timed(path) for path in PAIRED))
    assert min(elapsed) >= 0.18, dict(zip(PAIRED, elapsed, strict=True))


async def test_upstream_error_is_502(
    http_app_for: HttpAppFactory, failing_upstream_url: str
) -> None:
    async with http_app_for(upstream_url=failing_upstream_url) as client:
        for path in PAIRED:
            resp = await client.get(path, params={"latency_ms": 0})
            assert resp.status_code == 502, path
            assert "HTTP 500" in resp.json()["detail"], path


async def test_unreachable_upstream_is_502(
    http_app_for: HttpAppFactory, closed_upstream_url: str
) -> None:
    async with http_app_for(upstream_url=closed_upstream_url) as client:
        for path in PAIRED:
            resp = await client.get(path, params={"latency_ms": 0})
            assert resp.status_code == 502, path
            assert "unreachable" in resp.json()["detail"], path


async def test_slow_upstream_is_504(http_app_for: HttpAppFactory) -> None:
    async with http_app_for(http_timeout_s=0.1) as client:
        for path in PAIRED:
            start = time.perf_counter()
            resp = await client.get(path, params={"latency_ms": 1000})
            elapsed = time.perf_counter() - start
            assert resp.status_code == 504, path
            assert "0.1 s" in resp.json()["detail"], path
            assert elapsed < 0.7, path  # gave up at the client timeout, not the upstream's 1 s


async def test_no_upstream_configured_is_503(http_app_for: HttpAppFactory) -> None:
    async with http_app_for(upstream_url="") as client:
        for path in PAIRED:
            resp = await client.get(path)
            assert resp.status_code == 503, path
            assert "BENCH_UPSTREAM_URL" in resp.json()["detail"], path


BAD_PARAMS: list[dict[str, int | str]] = [
    {"latency_ms": -1},
    {"latency_ms": 10_001},
    {"latency_ms": "abc"},
    {"size": -1},
    {"size": 1_000_001},
]


async def test_bounds_answer_422(http_app: httpx.AsyncClient) -> None:
    for path in PAIRED:
        for params in BAD_PARAMS:
            resp = await http_app.get(path, params=params)
            assert resp.status_code == 422, (path, params)
        assert (await http_app.get(path, params={"latency_ms": 0, "size": 0})).status_code == 200


async def test_limits_are_recorded(http_app_for: HttpAppFactory, upstream_url: str) -> None:
    async with http_app_for(http_max_connections=7, http_timeout_s=3.5) as client:
        info = (await client.get("/_bench/info")).json()
        await client.get("/async/http/aiohttp", params={"latency_ms": 0})
        metrics = (await client.get("/_bench/metrics")).json()
    extra = info["extra"]["http"]
    assert extra["max_connections"] == 7
    assert extra["timeout_s"] == 3.5
    assert extra["upstream_url"] == upstream_url
    assert set(extra["versions"]) >= {"httpx", "httpcore", "aiohttp", "requests"}
    assert {"httpx2", "httpcore2", "httpx-aiohttp"} <= set(extra["versions"])
    assert "not installed" not in extra["versions"].values()
    assert "http_upstream_inflight" in metrics["gauges"]


async def test_pitfall_blocks_the_loop_and_the_fix_does_not(http_app: httpx.AsyncClient) -> None:
    """10 concurrent 200 ms calls: serialised on the loop (≈2 s) vs overlapped in threads."""
    query = "?latency_ms=200"
    # warm up: open the pooled connections and the worker threads, so neither is timed
    await _concurrently(http_app, "/fixed/http?latency_ms=0", 10)
    fixed = await _concurrently(http_app, "/fixed/http" + query, 10)
    pitfall = await _concurrently(http_app, "/pitfall/http" + query, 10)
    assert pitfall >= 1.8  # ten calls, one after the other
    assert pitfall >= 4 * fixed, (pitfall, fixed)


@pytest.mark.parametrize(
    "path",
    [
        "/async/http/httpx",
        "/async/http/aiohttp",
        "/async/http/httpx2",
        "/async/http/httpx-aiohttp",
        "/sync/http/requests",
        "/sync/http/httpx",
    ],
)
async def test_shared_clients_overlap_calls(http_app: httpx.AsyncClient, path: str) -> None:
    elapsed = await _concurrently(http_app, path + "?latency_ms=200", 10)
    assert elapsed < 5 * 0.2  # overlapped, not 10 × 200 ms
