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
from target_app.routes import cpu
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


BAD_PARAMS = [
    {"rounds": "0"},
    {"rounds": "-5"},
    {"rounds": str(MAX_ROUNDS + 1)},
    {"rounds": "many"},
    {"seed": ""},
    {"seed": "x" * 65},
]


async def test_bad_input_is_rejected(client: httpx.AsyncClient) -> None:
    # One app for all cases: entering the lifespan forks the pool, which is worth doing once.
    for path in CPU_PATHS:
        for params in BAD_PARAMS:
            response = await client.get(path, params=params)
            assert response.status_code == 422, (path, params)


async def test_fixed_without_lifespan_is_a_clear_503() -> None:
    app = create_app(Settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/fixed/cpu")
    assert response.status_code == 503
    assert "process pool is not running" in response.json()["detail"]


def rounds_for(seconds: float) -> int:
    """Calibrate the work on this machine, so the test never relies on absolute timings."""
    timings = []
    for _ in range(3):  # the fastest of 3: the least disturbed by other processes
        start = time.perf_counter()
        sha256_chain(b"calibrate", 10_000)
        timings.append(time.perf_counter() - start)
    per_round = min(timings) / 10_000
    return max(1_000, min(MAX_ROUNDS, int(seconds / per_round)))


async def cpu_burst(
    app: FastAPI, client: httpx.AsyncClient, cpu_path: str, rounds: int
) -> tuple[float, float, float]:
    """8 concurrent CPU requests while a 20 ms ``/async/sleep`` probe is in flight.

    Returns the probe's latency, the burst's duration and the longest loop lag (seconds).
    """

    async def probe() -> float:
        start = time.perf_counter()
        response = await client.get("/async/sleep", params={"ms": 20})
        assert response.status_code == 200
        return time.perf_counter() - start

    async def cpu() -> None:
        response = await client.get(cpu_path, params={"rounds": rounds})
        assert response.status_code == 200

    signals = app.state.signals
    probe_task = asyncio.create_task(probe())
    while signals.inflight < 1:  # the probe is inside the app …
        await asyncio.sleep(0)
    await asyncio.sleep(0.005)  # … and waiting in its sleep before the CPU burst starts
    signals.lag_ms.read()  # a fresh loop-lag window
    start = time.perf_counter()
    await asyncio.gather(*(cpu() for _ in range(8)))
    burst = time.perf_counter() - start
    probe_latency = await probe_task
    return probe_latency, burst, signals.lag_ms.read()["max"] / 1000


async def test_pitfall_blocks_the_loop_and_fixed_does_not(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for path in ("/fixed/cpu", "/pitfall/cpu", "/async/sleep"):  # warm up both code paths
        assert (await client.get(path, params={"rounds": 1, "ms": 0})).status_code == 200
    rounds = rounds_for(0.040)  # 8 × ≥ 40 ms of CPU per burst
    # the fix is measured three times and its best kept: one stall of the test process (a GC
    # pause, another process on the core) must not pass for a blocked loop
    fixed = [await cpu_burst(app, client, "/fixed/cpu", rounds) for _ in range(3)]
    fixed_probe, fixed_burst, fixed_lag = min(fixed, key=lambda m: m[2])
    pitfall_probe, pitfall_burst, pitfall_lag = await cpu_burst(app, client, "/pitfall/cpu", rounds)
    # The pitfall holds the loop for the whole burst (8 calls back to back): the probe waits for
    # all of them. The fix leaves the loop free. Margins are generous, and relative: other
    # processes share the cores and delay the loop too (tens of ms seen on a busy 2-core box).
    assert pitfall_probe > 3 * fixed_probe, (pitfall_probe, fixed_probe)
    assert pitfall_lag > 0.5 * pitfall_burst, (pitfall_lag, pitfall_burst)
    assert fixed_lag < 0.5 * fixed_burst, (fixed_lag, fixed_burst)


async def test_lifespan_forks_the_pool_and_leaves_no_child_processes() -> None:
    app = create_app(Settings(process_pool_workers=2))
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    async with app.router.lifespan_context(app):
        workers = [p for p in me.children(recursive=True) if p.pid not in before]
        assert len(workers) == 2
        extra = app.state.bench_extra["cpu"]
        assert extra["process_pool_workers"] == 2
        assert extra["us_per_round"] > 0  # calibrated at start-up, for the capacity model
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/fixed/cpu", params={"rounds": 10})
        assert response.status_code == 200
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert alive == []
    assert {p.pid for p in me.children(recursive=True)} <= before


def test_a_spread_calibration_keeps_its_fastest_try_over_the_whole_spread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A core slowed for most of the spread (as a VM's host does for a few hundred ms): the
    fastest try, taken when it was not, is the cost; the tries are spread over the time asked."""
    clock = {"t": 0.0}
    costs = iter([1.7, 1.7, 1.0, 1.7, 1.7, 1.7, 1.7, 1.7, 1.7, 1.7])  # µs a round, per try
    pauses: list[float] = []
    monkeypatch.setattr(cpu.time, "perf_counter", lambda: clock["t"])
    monkeypatch.setattr(cpu.time, "sleep", pauses.append)

    def chain(seed: bytes, rounds: int) -> str:
        clock["t"] += next(costs) * rounds / 1e6
        return ""

    monkeypatch.setattr(cpu, "sha256_chain", chain)
    assert cpu.calibrate_us_per_round(rounds=1000, spread_s=0.5) == pytest.approx(1.0)
    assert len(pauses) == 9 and sum(pauses) == pytest.approx(0.45)
