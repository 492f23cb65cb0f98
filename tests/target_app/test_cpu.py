"""CPU family: same digest everywhere, bounded input, a loop that the fix keeps free, no leaks."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator

import httpx
import psutil
import pytest
from fastapi import FastAPI

from target_app.main import create_app
from target_app.routes.cpu import MAX_ROUNDS, sha256_chain
from target_app.settings import Settings

CPU_PATHS = ["/sync/cpu", "/async/cpu", "/pitfall/cpu", "/fixed/cpu"]


@pytest.fixture
def app() -> FastAPI:
    return create_app(Settings(process_pool_workers=1))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def reference_digest(seed: str, rounds: int) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


def test_sha256_chain_matches_a_plain_loop() -> None:
    assert sha256_chain(b"abc", 0) == hashlib.sha256(b"abc").hexdigest()
    assert sha256_chain(b"abc", 3) == reference_digest("abc", 3)


async def test_all_variants_return_the_same_digest(client: httpx.AsyncClient) -> None:
    params = {"rounds": 1234, "seed": "same input"}
    expected = {
        "workload": "cpu",
        "seed": "same input",
        "rounds": 1234,
        "digest": reference_digest("same input", 1234),
    }
    for path in CPU_PATHS:
        response = await client.get(path, params=params)
        assert response.status_code == 200, path
        assert response.json() == expected, path


@pytest.mark.parametrize("path", CPU_PATHS)
@pytest.mark.parametrize(
    "params",
    [
        {"rounds": "0"},
        {"rounds": "-5"},
        {"rounds": str(MAX_ROUNDS + 1)},
        {"rounds": "many"},
        {"seed": ""},
        {"seed": "x" * 65},
    ],
)
async def test_bad_input_is_rejected(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 422


async def test_fixed_without_lifespan_is_a_clear_503() -> None:
    app = create_app(Settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/fixed/cpu")
    assert response.status_code == 503
    assert "process pool is not running" in response.json()["detail"]


def rounds_for(seconds: float) -> int:
    """Calibrate the work on this machine, so the test never relies on absolute timings."""
    start = time.perf_counter()
    sha256_chain(b"calibrate", 20_000)
    per_round = (time.perf_counter() - start) / 20_000
    return max(1_000, min(MAX_ROUNDS, int(seconds / per_round)))


async def probe_latency(client: httpx.AsyncClient, cpu_path: str, rounds: int) -> float:
    """Latency of a 10 ms ``/async/sleep`` in flight while 8 CPU requests run concurrently."""

    async def probe() -> float:
        start = time.perf_counter()
        response = await client.get("/async/sleep", params={"ms": 10})
        assert response.status_code == 200
        return time.perf_counter() - start

    async def cpu() -> None:
        response = await client.get(cpu_path, params={"rounds": rounds})
        assert response.status_code == 200

    probe_task = asyncio.create_task(probe())
    await asyncio.sleep(0)  # the probe reaches its sleep before any CPU request starts
    await asyncio.gather(*(cpu() for _ in range(8)))
    return await probe_task


async def test_pitfall_blocks_the_loop_and_fixed_does_not(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    rounds = rounds_for(0.025)  # 8 × ~25 ms of CPU per measurement
    fixed = await probe_latency(client, "/fixed/cpu", rounds)
    fixed_lag = app.state.signals.lag_ms.read()["max"]
    pitfall = await probe_latency(client, "/pitfall/cpu", rounds)
    pitfall_lag = app.state.signals.lag_ms.read()["max"]
    # The pitfall holds the loop for all 8 calls (~200 ms); the fix only for a little overhead.
    assert pitfall > 3 * fixed, (pitfall, fixed)
    assert pitfall_lag > 3 * max(fixed_lag, 5.0), (pitfall_lag, fixed_lag)


async def test_lifespan_forks_the_pool_and_leaves_no_child_processes() -> None:
    app = create_app(Settings(process_pool_workers=2))
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    async with app.router.lifespan_context(app):
        workers = [p for p in me.children(recursive=True) if p.pid not in before]
        assert len(workers) == 2
        assert app.state.bench_extra["cpu"] == {"process_pool_workers": 2}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/fixed/cpu", params={"rounds": 10})
        assert response.status_code == 200
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert alive == []
    assert {p.pid for p in me.children(recursive=True)} <= before
