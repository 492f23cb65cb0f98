"""Several worker processes: each serves its snapshot on its own socket; the harness merges them
(sums of requests, CPU, memory and gauges; the worst loop lag; blocked time per route)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from target_app.instrumentation import instrument
from target_app.worker_socket import SOCKETS_ENV, WorkerSocket, merge, read_all, read_one


def _snap(pid: int, requests: int, lag: float, busy: float, **extra: Any) -> dict[str, Any]:
    return {
        "t": 100.0 + pid,
        "pid": pid,
        "cpu_s": 1.5,
        "rss_bytes": 100.0,
        "threads": 3,
        "requests_total": requests,
        "loop_ticks_total": 10,
        "loop_lag_ms_max_total": lag * 2,
        "inflight": {"max": 5.0, "mean": 2.0, "now": 1.0},
        "loop_lag_ms": {"max": lag, "mean": lag / 2},
        "gauges": {
            "threadpool_borrowed": {"max": busy, "mean": busy, "now": busy},
            "threadpool_total": {"max": 40.0, "mean": 40.0, "now": 40.0},
        },
        "blocked": None,
        **extra,
    }


def _blocked(route: str, seconds: float) -> dict[str, Any]:
    frame = {
        "frame": "routes/sleep.py:42",
        "line": "time.sleep()",
        "context": "",
        "seconds": seconds,
    }
    return {
        "threshold_ms": 20.0,
        "total_s": seconds,
        "cpu_s": 0.01,
        "errors": 0,
        "routes": [{"route": route, "seconds": seconds, "samples": 3, "frames": [frame]}],
    }


def test_merge_sums_what_adds_up_and_keeps_the_worst_loop() -> None:
    merged = merge([_snap(2, 300, 12.0, 40.0), _snap(1, 100, 3.0, 10.0)])
    assert merged["pid"] == [1, 2] and merged["t"] == 102.0
    assert merged["requests_total"] == 400 and isinstance(merged["requests_total"], int)
    assert merged["cpu_s"] == 3.0 and merged["rss_bytes"] == 200.0 and merged["threads"] == 6
    assert merged["inflight"] == {"max": 10.0, "mean": 4.0, "now": 2.0}
    assert merged["loop_lag_ms"] == {"max": 12.0, "mean": 6.0}  # the worst worker's
    assert merged["loop_lag_ms_max_total"] == 24.0
    assert merged["gauges"]["threadpool_borrowed"]["max"] == 50.0  # tokens in use, both pools
    assert merged["gauges"]["threadpool_total"]["now"] == 80.0  # 2 × 40 tokens
    assert [w["requests_total"] for w in merged["workers"]] == [100, 300]
    assert merged["blocked"] is None


def test_merge_adds_each_workers_blocked_time_per_route_and_frame() -> None:
    a = _snap(1, 1, 1.0, 0.0, blocked=_blocked("GET /pitfall/sleep", 2.0))
    b = _snap(2, 1, 1.0, 0.0, blocked=_blocked("GET /pitfall/sleep", 3.0))
    blocked = merge([a, b])["blocked"]
    assert blocked["total_s"] == 5.0
    (route,) = blocked["routes"]
    assert route["seconds"] == 5.0 and route["samples"] == 6
    assert route["frames"][0]["seconds"] == 5.0


def test_no_worker_is_an_error_not_an_empty_snapshot() -> None:
    with pytest.raises(ValueError, match="no worker answered"):
        merge([])


async def test_a_worker_serves_its_snapshot_on_its_socket_until_it_stops(tmp_path: Path) -> None:
    served = WorkerSocket(str(tmp_path), lambda: {"t": 1.0, "pid": os.getpid()})
    await served.start()
    assert served.path == tmp_path / f"{os.getpid()}.sock" and served.path.exists()
    doc = await asyncio.to_thread(read_one, served.path, 2.0)
    assert doc == {"t": 1.0, "pid": os.getpid()}
    assert await asyncio.to_thread(read_all, tmp_path) == [doc]
    await served.stop()
    assert not served.path.exists()


def test_the_socket_of_a_worker_that_is_gone_is_removed(tmp_path: Path) -> None:
    import socket

    stale = tmp_path / "99999.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(stale))  # bound, never listening: what a dead worker leaves
    assert read_all(tmp_path) == [] and not stale.exists()


async def test_the_instrumentation_opens_the_socket_when_the_harness_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SOCKETS_ENV, str(tmp_path))
    monkeypatch.setenv("BENCH_WATCHDOG_MS", "0")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        if message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})

    wrapped = instrument(app)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await queue.put({"type": "lifespan.startup"})
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    running = asyncio.create_task(wrapped({"type": "lifespan"}, queue.get, send))
    path = tmp_path / f"{os.getpid()}.sock"
    for _ in range(100):
        if path.exists():
            break
        await asyncio.sleep(0.01)
    doc = await asyncio.to_thread(read_one, path, 2.0)
    assert doc["pid"] == os.getpid() and "requests_total" in doc
    await queue.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(running, 5.0)
    assert not path.exists()
