"""The upstream stand-in, over real HTTP: latency, jitter, error rate, payload, bounds, CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from target_app.upstream import (
    DELAY_HEADER,
    MAX_HANG_MS,
    UpstreamSettings,
    create_upstream,
    parse_args,
    payload,
)


async def _timed_get(client: httpx.AsyncClient, url: str) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    resp = await client.get(url)
    return resp, time.perf_counter() - start


async def test_health(upstream_url: str) -> None:
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        resp = await client.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


async def test_latency_is_honoured(upstream_url: str) -> None:
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        await client.get("/health")  # connection warm
        fast, fast_s = await _timed_get(client, "/item?latency_ms=0")
        slow, slow_s = await _timed_get(client, "/item?latency_ms=200")
    assert fast.status_code == slow.status_code == 200
    assert slow_s >= 0.18
    assert fast_s < slow_s / 2
    assert float(slow.headers[DELAY_HEADER.decode()]) == 200.0


async def test_latency_waits_concurrently(upstream_url: str) -> None:
    """20 concurrent 200 ms waits take about one wait, not twenty."""
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        start = time.perf_counter()
        resps = await asyncio.gather(*(client.get("/item?latency_ms=200") for _ in range(20)))
        elapsed = time.perf_counter() - start
    assert all(r.status_code == 200 for r in resps)
    assert elapsed < 5 * 0.2


async def test_jitter_stays_within_bounds(upstream_url: str) -> None:
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        timed = await asyncio.gather(
            *(_timed_get(client, "/item?latency_ms=200&jitter_ms=100") for _ in range(20))
        )
    delays = [float(resp.headers[DELAY_HEADER.decode()]) for resp, _ in timed]
    assert all(100.0 <= d <= 300.0 for d in delays)
    assert max(delays) - min(delays) > 10.0  # it does vary
    for (_, elapsed), delay in zip(timed, delays, strict=True):
        assert elapsed >= 0.9 * delay / 1000


async def test_jitter_never_goes_below_zero(upstream_url: str) -> None:
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        resps = await asyncio.gather(
            *(client.get("/item?latency_ms=1&jitter_ms=50") for _ in range(20))
        )
    assert all(float(r.headers[DELAY_HEADER.decode()]) >= 0.0 for r in resps)


@pytest.mark.parametrize(("rate", "expected"), [(1.0, {500}), (0.0, {200})])
async def test_error_rate_extremes(upstream_url: str, rate: float, expected: set[int]) -> None:
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        resps = await asyncio.gather(
            *(client.get(f"/item?latency_ms=0&error_rate={rate}") for _ in range(50))
        )
    assert {r.status_code for r in resps} == expected


async def test_error_rate_half_gives_both(upstream_url: str) -> None:
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        resps = await asyncio.gather(
            *(client.get("/item?latency_ms=0&error_rate=0.5") for _ in range(100))
        )
    statuses = [r.status_code for r in resps]
    assert 15 <= statuses.count(500) <= 85
    assert set(statuses) == {200, 500}


async def test_a_hanging_call_waits_hang_ms(upstream_url: str) -> None:
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        await client.get("/health")  # connection warm
        hung, hung_s = await _timed_get(client, "/item?latency_ms=0&hang_rate=1&hang_ms=300")
        spared = await client.get("/item?latency_ms=0&hang_rate=0&hang_ms=300")
    assert hung.status_code == spared.status_code == 200
    assert hung_s >= 0.28
    assert float(hung.headers[DELAY_HEADER.decode()]) == 300.0
    assert float(spared.headers[DELAY_HEADER.decode()]) == 0.0


async def _hang_pattern(seed: int, n: int = 60) -> list[bool]:
    """Which of ``n`` calls (one at a time, hang_rate 0.3) hung, for an upstream seeded ``seed``."""
    app = create_upstream(UpstreamSettings(latency_ms=0, hang_rate=0.3, hang_ms=1, seed=seed))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://up") as client:
        resps = [await client.get("/item") for _ in range(n)]
    return [float(r.headers[DELAY_HEADER.decode()]) == 1.0 for r in resps]


async def test_hangs_are_a_share_and_repeat_with_the_seed() -> None:
    first, again, other = await _hang_pattern(7), await _hang_pattern(7), await _hang_pattern(8)
    assert first == again, "same seed, same calls hang"
    assert first != other
    assert 5 <= sum(first) <= 35  # about 30 % of 60


def test_a_hang_is_bounded() -> None:
    assert MAX_HANG_MS == 30_000  # the load generator's per-request timeout: every call ends
    assert UpstreamSettings().hang_ms == MAX_HANG_MS
    with pytest.raises(ValueError):
        UpstreamSettings(hang_ms=MAX_HANG_MS + 1)


async def test_default_settings_apply(failing_upstream_url: str) -> None:
    """Process defaults (here error_rate=1) apply when the query does not override them."""
    async with httpx.AsyncClient(base_url=failing_upstream_url) as client:
        default = await client.get("/item")
        overridden = await client.get("/item?error_rate=0")
    assert default.status_code == 500
    assert default.json() == {"error": "injected upstream error"}
    assert overridden.status_code == 200


@pytest.mark.parametrize("size", [0, 10, 256, 1000, 1_000_000])
async def test_payload_size(upstream_url: str, size: int) -> None:
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        resp = await client.get(f"/item?latency_ms=0&size={size}")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    data = resp.json()
    assert data["ok"] is True and data["size"] == size
    assert resp.content == payload(size)
    if size >= 40:  # below that, the smallest JSON object with its keys
        assert len(resp.content) == size


def test_payload_is_exact_above_minimum() -> None:
    for size in range(40, 200):
        body = payload(size)
        assert len(body) == size
        assert json.loads(body)["size"] == size


@pytest.mark.parametrize(
    "query",
    [
        "latency_ms=-1",
        "latency_ms=10001",
        "latency_ms=abc",
        "latency_ms=nan",
        "latency_ms=inf",
        "jitter_ms=-5",
        "jitter_ms=10001",
        "error_rate=-0.1",
        "error_rate=1.01",
        "size=-1",
        "size=1000001",
        "size=1.5",
        "hang_rate=-0.1",
        "hang_rate=1.01",
        "hang_ms=-1",
        "hang_ms=30001",
    ],
)
async def test_bad_parameters_answer_422(upstream_url: str, query: str) -> None:
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        resp = await client.get(f"/item?{query}")
    assert resp.status_code == 422
    assert query.split("=")[0] in resp.json()["error"]


async def test_unknown_path_and_method(upstream_url: str) -> None:
    async with httpx.AsyncClient(base_url=upstream_url) as client:
        missing = await client.get("/nope")
        post = await client.post("/item")
    assert missing.status_code == 404
    assert post.status_code == 405


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_UPSTREAM_LATENCY_MS", "250")
    monkeypatch.setenv("BENCH_UPSTREAM_ERROR_RATE", "0.25")
    settings = UpstreamSettings()
    assert settings.latency_ms == 250.0
    assert settings.error_rate == 0.25


def test_cli_refuses_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--host", "0.0.0.0", "--port", "8000"])
    assert "loopback" in capsys.readouterr().err
    assert parse_args(["--port", "8000"]).host == "127.0.0.1"


def test_cli_serves_until_stopped() -> None:
    """``python -m target_app.upstream`` serves on 127.0.0.1; stopped by its PID."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "target_app.upstream", "--port", str(port), "--latency-ms", "0"]
    env = {**os.environ, "BENCH_UPSTREAM_PAYLOAD_BYTES": "500"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "upstream CLI did not become ready"
                time.sleep(0.05)
            resp = client.get("/item")
        assert resp.status_code == 200
        assert len(resp.content) == 500  # the environment default applied
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
