"""The database family on a real PostgreSQL (the session's embedded server) and SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from target_app.main import create_app
from target_app.settings import Settings

BACKENDS = ["postgresql", "sqlite"]


@contextlib.asynccontextmanager
async def db_app(url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on ``url`` with its lifespan entered (engines open), driven in-process."""
    app = create_app(Settings(**{"database_url": url, "db_pool_size": 20, **overrides}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    fixture = "postgres_url" if request.param == "postgresql" else "sqlite_url"
    return str(request.getfixturevalue(fixture))


async def _get(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_sleep_pair_and_pitfall_fix_return_the_same_payload(database_url: str) -> None:
    async with db_app(database_url) as client:
        bodies = [
            await _get(client, f"{prefix}?ms=5")
            for prefix in ("/sync/db/sleep", "/async/db/sleep", "/pitfall/db", "/fixed/db")
        ]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["item"] == {"id": 1, "name": "item-00001"}
    assert bodies[0]["ms"] == 5


async def test_query_pair_returns_the_same_payload(database_url: str) -> None:
    async with db_app(database_url) as client:
        sync = await _get(client, "/sync/db/query?category=7")
        async_ = await _get(client, "/async/db/query?category=7")
    assert sync == async_
    assert sync["count"] == 200
    assert len(sync["cheapest"]) == 5
    prices = [row["price"] for row in sync["cheapest"]]
    assert prices == sorted(prices) and prices[0] == sync["min_price"]


async def test_postgres_and_sqlite_hold_the_same_data(postgres_url: str, sqlite_url: str) -> None:
    bodies = []
    for url in (postgres_url, sqlite_url):
        async with db_app(url) as client:
            bodies.append(await _get(client, "/async/db/query?category=42"))
    pg, lite = bodies
    assert pg["cheapest"] == lite["cheapest"]
    assert (pg["count"], pg["min_price"], pg["max_price"]) == (
        lite["count"],
        lite["min_price"],
        lite["max_price"],
    )
    assert pg["avg_price"] == pytest.approx(lite["avg_price"], abs=0.011)


@pytest.mark.parametrize(
    "path",
    [
        "/sync/db/sleep?ms=-1",
        "/async/db/sleep?ms=10001",
        "/pitfall/db?ms=abc",
        "/fixed/db?ms=20000",
        "/sync/db/query?category=100",
        "/async/db/query?category=-1",
    ],
)
async def test_bad_input_is_422(sqlite_url: str, path: str) -> None:
    async with db_app(sqlite_url) as client:
        assert (await client.get(path)).status_code == 422


async def test_no_database_configured_is_503_without_engines() -> None:
    app = create_app(Settings(database_url=""))
    async with app.router.lifespan_context(app):
        assert app.state.database is None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            for path in ("/sync/db/sleep", "/async/db/query", "/pitfall/db", "/fixed/db"):
                response = await client.get(path)
                assert response.status_code == 503
                assert "BENCH_DATABASE_URL" in response.json()["detail"]


async def test_unseeded_database_is_a_clear_503(tmp_path: Path) -> None:
    async with db_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}") as client:
        for path in ("/sync/db/query", "/async/db/sleep?ms=0"):
            response = await client.get(path)
            assert response.status_code == 503
            assert "seed" in response.json()["detail"]


async def test_pool_timeout_is_a_503(postgres_url: str) -> None:
    settings = {"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_s": 0.2}
    async with db_app(postgres_url, **settings) as client:
        responses = await asyncio.gather(
            client.get("/async/db/sleep?ms=800"), client.get("/async/db/sleep?ms=800")
        )
        sync = await asyncio.gather(
            client.get("/sync/db/sleep?ms=800"), client.get("/sync/db/sleep?ms=800")
        )
    for pair in (responses, sync):
        assert sorted(r.status_code for r in pair) == [200, 503]
        failed = next(r for r in pair if r.status_code == 503)
        assert "pool exhausted" in failed.json()["detail"]


async def test_gauges_and_metadata(postgres_url: str) -> None:
    async with db_app(postgres_url, db_pool_size=7, db_max_overflow=2) as client:
        info = (await _get(client, "/_bench/info"))["extra"]["database"]
        assert info["sync_driver"] == "postgresql+psycopg"
        assert info["async_driver"] == "postgresql+asyncpg"
        assert (info["pool_size"], info["max_overflow"]) == (7, 2)
        in_flight = [asyncio.create_task(client.get("/async/db/sleep?ms=400")) for _ in range(3)]
        await asyncio.sleep(0.2)
        gauges = (await _get(client, "/_bench/metrics"))["gauges"]
        await asyncio.gather(*in_flight)
    assert gauges["db_pool_async_checked_out"]["now"] == 3
    assert gauges["db_pool_sync_checked_out"]["now"] == 0


async def _concurrent_seconds(client: httpx.AsyncClient, path: str, n: int = 10) -> float:
    # warm-up: open n pooled connections (requests that overlap), so only the waits are timed
    await asyncio.gather(*(client.get(path.replace("200", "20")) for _ in range(n)))
    started = time.perf_counter()
    responses = await asyncio.gather(*(client.get(path) for _ in range(n)))
    elapsed = time.perf_counter() - started
    assert all(r.status_code == 200 for r in responses)
    return elapsed


@pytest.mark.parametrize("backend", BACKENDS)
async def test_pitfall_blocks_the_loop_and_the_fixes_do_not(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url" if backend == "postgresql" else "sqlite_url")
    async with db_app(url) as client:
        pitfall = await _concurrent_seconds(client, "/pitfall/db?ms=200")
        async_driver = await _concurrent_seconds(client, "/async/db/sleep?ms=200")
        threadpool = await _concurrent_seconds(client, "/fixed/db?ms=200")
    # 10 requests of 200 ms: one after the other (~2 s) vs all at once (~0.2 s)
    assert pitfall >= 4 * async_driver, (pitfall, async_driver)
    assert pitfall >= 4 * threadpool, (pitfall, threadpool)


async def test_unreachable_database_is_a_503_without_the_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://bench:s3cr3t-pw@127.0.0.1:{port}/bench"
    async with db_app(url, db_pool_timeout_s=2) as client:
        for path in ("/sync/db/sleep?ms=0", "/async/db/sleep?ms=0", "/async/db/query"):
            response = await client.get(path)
            assert response.status_code == 503, response.text
            detail = response.json()["detail"]
            assert detail.startswith("database unavailable")
            assert "s3cr3t-pw" not in detail
