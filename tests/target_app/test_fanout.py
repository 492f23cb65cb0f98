"""The fan-out family against a real upstream: sequential vs gather vs semaphore, bounds, errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

HttpAppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
ROUTES = [
    "/sync/fanout",
    "/async/fanout/sequential",
    "/async/fanout/gather",
    "/async/fanout/semaphore",
]


async def _timed(client: httpx.AsyncClient, path: str, **params: int) -> float:
    start = time.perf_counter()
    resp = await client.get(path, params=params)
    elapsed = time.perf_counter() - start
    assert resp.status_code == 200, (path, resp.text)
    return elapsed


async def test_every_route_returns_the_same_payload(http_app: httpx.AsyncClient) -> None:
    params = {"n": 4, "latency_ms": 0, "size": 500}
    bodies = [(await http_app.get(path, params=params)).json() for path in ROUTES]
    expected = {"workload": "fanout", "n": 4, "latency_ms": 0, "size": 500, "upstream_bytes": 2000}
    assert bodies == [expected] * len(ROUTES)


async def _warm(client: httpx.AsyncClient, n: int) -> None:
    """Open ``n`` pooled upstream connections first, so no timing includes a TCP handshake."""
    await _timed(client, "/async/fanout/gather", n=n, latency_ms=20)
    await _timed(client, "/sync/fanout", n=1, latency_ms=0)


async def test_gather_overlaps_the_calls(http_app: httpx.AsyncClient) -> None:
    """n=3 × 200 ms: sequential ≈ 600 ms, gather ≈ 200 ms, semaphore(k=1) ≈ sequential."""
    await _warm(http_app, 3)
    calls = {"n": 3, "latency_ms": 200}
    sequential = await _timed(http_app, "/async/fanout/sequential", **calls)
    sync = await _timed(http_app, "/sync/fanout", **calls)
    gather = await _timed(http_app, "/async/fanout/gather", **calls)
    one_at_a_time = await _timed(http_app, "/async/fanout/semaphore", k=1, **calls)
    all_at_once = await _timed(http_app, "/async/fanout/semaphore", k=3, **calls)
    assert sequential >= 0.54 and sync >= 0.54
    assert gather <= 0.6 * sequential
    assert all_at_once <= 0.6 * sequential
    assert 0.8 <= one_at_a_time / sequential <= 1.25
    assert 0.8 <= sync / sequential <= 1.25


async def test_semaphore_runs_in_waves(http_app: httpx.AsyncClient) -> None:
    """n=4 under k=2: two waves of 150 ms, between one gather and the sequential four."""
    await _warm(http_app, 4)
    gather = await _timed(http_app, "/async/fanout/gather", n=4, latency_ms=150)
    waves = await _timed(http_app, "/async/fanout/semaphore", n=4, k=2, latency_ms=150)
    sequential = await _timed(http_app, "/async/fanout/sequential", n=4, latency_ms=150)
    assert waves >= 0.27  # at least two waves
    assert 1.3 * gather <= waves <= 0.75 * sequential


async def test_bounds_answer_422(http_app: httpx.AsyncClient) -> None:
    bad: list[dict[str, int | str]] = [
        {"n": 0},
        {"n": 51},
        {"n": "many"},
        {"latency_ms": -1},
        {"latency_ms": 10_001},
        {"size": 1_000_001},
    ]
    for path in ROUTES:
        for params in bad:
            resp = await http_app.get(path, params=params)
            assert resp.status_code == 422, (path, params)
    for k in (0, 51):
        resp = await http_app.get("/async/fanout/semaphore", params={"k": k})
        assert resp.status_code == 422, k
    ok = await http_app.get("/async/fanout/semaphore", params={"n": 50, "k": 50, "latency_ms": 0})
    assert ok.status_code == 200


async def test_upstream_error_is_502(
    http_app_for: HttpAppFactory, failing_upstream_url: str
) -> None:
    async with http_app_for(upstream_url=failing_upstream_url) as client:
        for path in ROUTES:
            resp = await client.get(path, params={"n": 5, "latency_ms": 0})
            assert resp.status_code == 502, path


async def test_slow_upstream_is_504(http_app_for: HttpAppFactory) -> None:
    async with http_app_for(http_timeout_s=0.1) as client:
        for path in ROUTES:
            resp = await client.get(path, params={"n": 5, "latency_ms": 300})
            assert resp.status_code == 504, path


async def test_no_upstream_configured_is_503(http_app_for: HttpAppFactory) -> None:
    async with http_app_for(upstream_url="") as client:
        for path in ROUTES:
            assert (await client.get(path)).status_code == 503, path
