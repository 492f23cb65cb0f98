"""Background family: deferred work answers early, and the side effect still happens."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from target_app.main import create_app
from target_app.settings import Settings

PATHS = ["/inline/background", "/deferred/background"]


@pytest.fixture
def app() -> FastAPI:
    return create_app(Settings())


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """In-process client. ASGITransport returns only when the whole ASGI call is over, i.e.
    *after* the background tasks: fine for content, useless for timing (see ``served``)."""
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port, in this loop; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", ws="none", http="h11"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # raises the server's startup error
                    raise RuntimeError("the server stopped before starting")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def journal(client: httpx.AsyncClient, limit: int = 20) -> dict[str, Any]:
    response = await client.get("/background/journal", params={"limit": limit})
    assert response.status_code == 200
    return response.json()


async def timed_get(client: httpx.AsyncClient, path: str, ms: int) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = await client.get(path, params={"ms": ms})
    return time.perf_counter() - start, response


async def test_deferred_answers_before_the_work_and_the_work_still_happens() -> None:
    app = create_app(Settings())
    ms = 300
    async with served(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        inline, inline_response = await timed_get(client, "/inline/background", ms)
        after_inline = await journal(client)
        deferred, deferred_response = await timed_get(client, "/deferred/background", ms)
        assert inline_response.json() == {"workload": "background", "ms": ms, "job_id": 1}
        assert deferred_response.json() == {"workload": "background", "ms": ms, "job_id": 2}
        # The client waited for the inline side effect, not for the deferred one.
        assert after_inline["completed"] == 1
        assert inline > 5 * deferred, (inline, deferred)
        async with asyncio.timeout(10):
            while (state := await journal(client))["completed"] < 2:
                await asyncio.sleep(0.02)
    assert state["scheduled"] == 2
    assert state["pending"] == 0
    [first, second] = state["records"]
    assert first["job_id"] == 1 and first["variant"] == "inline"
    assert second["job_id"] == 2 and second["variant"] == "deferred"
    assert second["ms"] == ms and second["elapsed_ms"] >= ms  # it really slept


async def test_journal_records_both_variants(app: FastAPI, client: httpx.AsyncClient) -> None:
    for path in PATHS:
        response = await client.get(path, params={"ms": 0})
        assert response.status_code == 200
    state = await journal(client)
    assert state["scheduled"] == state["completed"] == 2
    assert [r["variant"] for r in state["records"]] == ["inline", "deferred"]
    assert [r["job_id"] for r in (await journal(client, limit=1))["records"]] == [2]
    assert (await journal(client, limit=0))["records"] == []
    gauges = app.state.signals.snapshot()["gauges"]
    assert gauges["background_pending"]["now"] == 0


async def test_bad_input_is_rejected(client: httpx.AsyncClient) -> None:
    for path in PATHS:
        for ms in ("-1", "10001", "soon"):
            response = await client.get(path, params={"ms": ms})
            assert response.status_code == 422, (path, ms)
    for limit in ("-1", "1001", "all"):
        response = await client.get("/background/journal", params={"limit": limit})
        assert response.status_code == 422, limit
    assert (await journal(client))["scheduled"] == 0  # nothing rejected was scheduled


async def test_without_lifespan_the_journal_is_a_clear_503() -> None:
    app = create_app(Settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/deferred/background", params={"ms": 0})
    assert response.status_code == 503
    assert "journal is not ready" in response.json()["detail"]
