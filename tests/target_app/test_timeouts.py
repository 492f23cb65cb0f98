"""The timeouts family against a real upstream that hangs: 504 after the timeout vs a held thread.

Small numbers keep it fast: a 1.5 s hang, a 0.3 s client timeout; ratios with wide margins.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import anyio.to_thread
import httpx
import pytest

HttpAppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

HANG_S, TIMEOUT_S = 1.5, 0.3
HANG = {"latency_ms": 0, "hang_rate": 1, "hang_ms": int(HANG_S * 1000)}
WITH_TIMEOUT = ["/sync/http/requests/timeout", "/async/http/aiohttp/timeout"]
WITHOUT_TIMEOUT = ["/sync/http/requests/no-timeout", "/async/http/aiohttp/no-timeout"]


async def _timed(
    client: httpx.AsyncClient, path: str, params: dict[str, int | float]
) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    resp = await client.get(path, params=params)
    return resp, time.perf_counter() - start


async def test_without_a_hang_every_endpoint_answers(http_app: httpx.AsyncClient) -> None:
    for path in WITH_TIMEOUT + WITHOUT_TIMEOUT:
        resp = await http_app.get(path, params={"latency_ms": 0, "size": 500})
        assert resp.status_code == 200, (path, resp.text)
        body = resp.json()
        assert body["workload"] == "timeouts" and body["upstream_bytes"] == 500, path
        assert body["timeout_ms"] == (1000 if path in WITH_TIMEOUT else None), path


@pytest.mark.parametrize("path", WITH_TIMEOUT)
async def test_a_hanging_call_fails_at_the_timeout(http_app: httpx.AsyncClient, path: str) -> None:
    params = {**HANG, "timeout_ms": int(TIMEOUT_S * 1000)}
    resp, elapsed = await _timed(http_app, path, params)
    assert resp.status_code == 504, resp.text
    assert "0.3 s" in resp.json()["detail"]
    assert TIMEOUT_S * 0.9 <= elapsed < HANG_S * 0.6, elapsed  # ≈ the timeout, not the hang


@pytest.mark.parametrize("path", WITHOUT_TIMEOUT)
async def test_a_hanging_call_without_timeout_waits_it_out(
    http_app: httpx.AsyncClient, path: str
) -> None:
    resp, elapsed = await _timed(http_app, path, HANG)
    assert resp.status_code == 200, resp.text  # slow, but the upstream's cap makes it end
    assert elapsed >= HANG_S * 0.95, elapsed


async def _borrowed_while(client: httpx.AsyncClient, path: str, params: dict) -> tuple[int, int]:  # type: ignore[type-arg]
    """Thread-pool tokens in use half-way through the hang, and just after the answer."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    call = asyncio.ensure_future(client.get(path, params=params))
    await asyncio.sleep(HANG_S / 2)
    during = limiter.borrowed_tokens
    await call
    return during, limiter.borrowed_tokens


async def test_the_timeout_frees_the_thread_and_no_timeout_holds_it(
    http_app: httpx.AsyncClient,
) -> None:
    timed_out = await _borrowed_while(
        http_app, "/sync/http/requests/timeout", {**HANG, "timeout_ms": int(TIMEOUT_S * 1000)}
    )
    held = await _borrowed_while(http_app, "/sync/http/requests/no-timeout", HANG)
    assert timed_out == (0, 0), "given back after 0.3 s, long before the hang's midpoint"
    assert held == (1, 0), "held for the whole hang, given back with the answer"


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/sync/http/requests/timeout", {"timeout_ms": int(TIMEOUT_S * 1000)}),
        ("/sync/http/requests/no-timeout", {}),
    ],
)
async def test_hangs_exhaust_a_small_pool_only_without_timeout(
    http_app_for: HttpAppFactory, path: str, extra: dict[str, int]
) -> None:
    """Two tokens, two hanging calls, then a fast one: it waits for a token as long as a hang
    holds it — about the timeout with one, the whole hang without."""
    async with http_app_for(threadpool_tokens=2) as client:
        hangs = [asyncio.ensure_future(client.get(path, params={**HANG, **extra})) for _ in "ab"]
        await asyncio.sleep(0.1)  # both hanging calls hold their token
        resp, fast = await _timed(client, path, {"latency_ms": 0, **extra})
        await asyncio.gather(*hangs)
    assert resp.status_code == 200
    if extra:
        assert fast < HANG_S * 0.5, fast  # waited ≈ the 0.3 s timeout
    else:
        assert fast >= (HANG_S - 0.1) * 0.9, fast  # waited for a hang to end


@pytest.mark.parametrize(
    "params",
    [
        {"hang_rate": -0.1},
        {"hang_rate": 1.5},
        {"hang_ms": -1},
        {"hang_ms": 30_001},
        {"timeout_ms": 0},
        {"timeout_ms": 30_001},
        {"latency_ms": 10_001},
    ],
)
async def test_bounds_answer_422(http_app: httpx.AsyncClient, params: dict[str, float]) -> None:
    for path in WITH_TIMEOUT:
        assert (await http_app.get(path, params=params)).status_code == 422, (path, params)
    if "timeout_ms" not in params:
        for path in WITHOUT_TIMEOUT:
            assert (await http_app.get(path, params=params)).status_code == 422, (path, params)
