"""Database: a pooled wait and an indexed query, through a sync and an async driver side by side.

``settings.database_url`` (``postgresql://…`` or ``sqlite:///path``) picks the drivers:

=============  ================================  ===================================
backend        ``def`` handlers (sync engine)    ``async def`` handlers (async engine)
=============  ================================  ===================================
PostgreSQL     ``postgresql+psycopg`` QueuePool  ``postgresql+asyncpg`` async QueuePool
SQLite         ``sqlite`` (sqlite3) QueuePool    ``sqlite+aiosqlite`` async QueuePool
=============  ================================  ===================================

Both pools get ``db_pool_size``, ``db_max_overflow`` and ``db_pool_timeout_s``: a pool caps the
concurrency of its endpoints whatever the thread pool or the event loop could do.

- ``/sync/db/sleep`` vs ``/async/db/sleep``: one statement that waits ``ms`` inside the database
  call and looks up one row by primary key. PostgreSQL waits on the server (``pg_sleep``).
  SQLite has no server and no sleep function: the statement calls ``bench_sleep(ms)``, a function
  registered on each connection that sleeps in the driver's thread (the request's worker thread
  for sqlite3, the connection's own thread for aiosqlite). Either way the connection is checked
  out for the whole wait, as with a slow query.
- ``/sync/db/query`` vs ``/async/db/query``: count/avg/min/max and the 5 cheapest rows of one
  category, both through the ``category`` index.
- ``/pitfall/db``: the sync engine called inside ``async def``: the event loop waits with it.
- ``/fixed/db``: the same sync call offloaded with ``run_in_threadpool``. The other fix, an async
  driver, is ``/async/db/sleep``.

Pool timeouts and unreachable databases answer 503, other database errors 500 (JSON ``detail``).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, Pool, QueuePool
from starlette.concurrency import run_in_threadpool

from target_app.db import CATEGORIES, SLEEP_ITEM_ID, async_url, backend_of, sync_url
from target_app.settings import Settings, redact_url

router = APIRouter(tags=["database"])

_DRIVER_PACKAGES = {"postgresql": ("psycopg", "asyncpg"), "sqlite": ("sqlite3", "aiosqlite")}
WAIT_KIND = {
    "postgresql": "server: pg_sleep",
    "sqlite": "in-driver: bench_sleep() SQL function (SQLite has no server-side wait)",
}

_SLEEP_SQL = {
    # void → text so that both drivers return a plain value; one statement, one round trip.
    "postgresql": text(
        "SELECT (SELECT name FROM items WHERE id = :id) AS name, pg_sleep(:seconds)::text AS waited"
    ),
    "sqlite": text(
        "SELECT (SELECT name FROM items WHERE id = :id) AS name, bench_sleep(:ms) AS waited"
    ),
}
_STATS_SQL = text(
    "SELECT count(*) AS n, avg(price) AS avg_price, min(price) AS min_price, "
    "max(price) AS max_price FROM items WHERE category = :category"
)
_CHEAPEST_SQL = text(
    "SELECT id, name, price FROM items WHERE category = :category ORDER BY price, id LIMIT 5"
)

Millis = Annotated[int, Query(ge=0, le=10_000, description="how long to wait, in milliseconds")]
Category = Annotated[
    int, Query(ge=0, lt=CATEGORIES, description=f"item category, 0..{CATEGORIES - 1}")
]


ENGINE_OPTIONS: dict[str, Any] = {
    # Every statement of this family is a read; under PostgreSQL's READ COMMITTED each statement
    # takes its own snapshot anyway, so an explicit transaction only adds a BEGIN and a ROLLBACK
    # round trip per request. Both engines run in driver autocommit (psycopg ``autocommit``,
    # asyncpg without ``transaction()``), as a read-only service would be configured.
    "isolation_level": "AUTOCOMMIT",
    # The pool's rollback-on-checkin guards against a transaction left open; in autocommit there
    # is none (SQLAlchemy documents disabling it for autocommit connections).
    "pool_reset_on_return": None,
}
"""Options given to both engines alike (recorded in ``/_bench/info`` under ``extra.database``)."""


def _sqlite_sleep(ms: int) -> int:
    time.sleep(ms / 1000)
    return ms


def _install_sqlite_sleep(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _register(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("bench_sleep", 1, _sqlite_sleep)


def _checked_out(pool: Pool) -> float:
    return float(pool.checkedout()) if isinstance(pool, QueuePool) else 0.0


@dataclass
class Engines:
    """The family's two engines and the pool configuration they share."""

    backend: str
    sync: Engine
    async_: AsyncEngine
    pool_size: int
    max_overflow: int
    pool_timeout_s: float

    @classmethod
    def open(cls, settings: Settings) -> Engines:
        url = settings.database_url
        backend = backend_of(url)
        pool = {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            "pool_timeout": settings.db_pool_timeout_s,
        }
        connect_args: dict[str, Any] = {}
        if backend == "sqlite":
            connect_args = {"check_same_thread": False, "timeout": settings.db_pool_timeout_s}
        sync = create_engine(
            sync_url(url), poolclass=QueuePool, connect_args=connect_args, **pool, **ENGINE_OPTIONS
        )
        async_ = create_async_engine(
            async_url(url),
            poolclass=AsyncAdaptedQueuePool,
            connect_args=connect_args,
            **pool,
            **ENGINE_OPTIONS,
        )
        if backend == "sqlite":
            _install_sqlite_sleep(sync)
            _install_sqlite_sleep(async_.sync_engine)
        return cls(
            backend,
            sync,
            async_,
            settings.db_pool_size,
            settings.db_max_overflow,
            settings.db_pool_timeout_s,
        )

    def describe(self) -> dict[str, Any]:
        """What the run records about the database side of the app."""
        sync_pkg, async_pkg = _DRIVER_PACKAGES[self.backend]
        return {
            "backend": self.backend,
            "url": redact_url(
                self.sync.url.set(drivername=self.backend).render_as_string(hide_password=False)
            ),
            "sync_driver": self.sync.url.drivername,
            "async_driver": self.async_.url.drivername,
            "driver_versions": {
                sync_pkg: _version(sync_pkg),
                async_pkg: _version(async_pkg),
                "sqlalchemy": _version("sqlalchemy"),
            },
            "sync_pool": type(self.sync.pool).__name__,
            "async_pool": type(self.async_.sync_engine.pool).__name__,
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
            "pool_timeout_s": self.pool_timeout_s,
            "engine_options": dict(ENGINE_OPTIONS),
            "sleep_wait": WAIT_KIND[self.backend],
        }

    async def dispose(self) -> None:
        self.sync.dispose()
        await self.async_.dispose()


def _version(package: str) -> str:
    if package == "sqlite3":
        import sqlite3

        return sqlite3.sqlite_version
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open both engines when a database is configured; dispose them on shutdown."""
    settings: Settings = app.state.settings
    app.state.database = None
    if not settings.database_url:
        yield
        return
    engines = Engines.open(settings)
    app.state.database = engines
    signals = app.state.signals
    signals.register_gauge("db_pool_sync_checked_out", lambda: _checked_out(engines.sync.pool))
    signals.register_gauge(
        "db_pool_async_checked_out", lambda: _checked_out(engines.async_.sync_engine.pool)
    )
    extra = getattr(app.state, "bench_extra", None)
    if extra is None:
        extra = app.state.bench_extra = {}
    extra["database"] = engines.describe()
    try:
        yield
    finally:
        app.state.database = None
        await engines.dispose()


def _engines(request: Request) -> Engines:
    engines: Engines | None = getattr(request.app.state, "database", None)
    if engines is None:
        raise HTTPException(
            503, "no database configured: set BENCH_DATABASE_URL (or run with --database)"
        )
    return engines


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0] if lines else ''}"[:300]


@contextlib.contextmanager
def _database_errors(engines: Engines) -> Iterator[None]:
    """Turn driver and pool failures into a JSON 503/500 the load generator counts as failures."""
    try:
        yield
    except exc.TimeoutError as error:
        raise HTTPException(
            503,
            f"database pool exhausted: no connection free within {engines.pool_timeout_s:g} s "
            f"(pool_size={engines.pool_size}, max_overflow={engines.max_overflow})",
        ) from error
    except (exc.DBAPIError, OSError) as error:
        reason = _first_line(error)
        if "items" in reason and ("no such table" in reason or "does not exist" in reason):
            raise HTTPException(
                503,
                "table 'items' missing: seed the database (the harness seeds it before any load)",
            ) from error
        unavailable = isinstance(error, exc.OperationalError | exc.InterfaceError | OSError)
        raise HTTPException(
            503 if unavailable else 500,
            f"database {'unavailable' if unavailable else 'error'}: {reason}",
        ) from error


# --- the queries, once per driver family -----------------------------------------------------


def _sleep_params(backend: str, ms: int) -> dict[str, Any]:
    if backend == "postgresql":
        return {"id": SLEEP_ITEM_ID, "seconds": ms / 1000}
    return {"id": SLEEP_ITEM_ID, "ms": ms}


def _sleep_payload(backend: str, ms: int, name: str | None) -> dict[str, Any]:
    return {
        "workload": "db_sleep",
        "ms": ms,
        "backend": backend,
        "wait": WAIT_KIND[backend],
        "item": {"id": SLEEP_ITEM_ID, "name": name},
    }


def _money(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _query_payload(category: int, stats: Any, cheapest: list[Any]) -> dict[str, Any]:
    return {
        "workload": "db_query",
        "category": category,
        "count": int(stats.n),
        "avg_price": _money(stats.avg_price),
        "min_price": _money(stats.min_price),
        "max_price": _money(stats.max_price),
        "cheapest": [{"id": r.id, "name": r.name, "price": _money(r.price)} for r in cheapest],
    }


def _sleep_blocking(engines: Engines, ms: int) -> dict[str, Any]:
    with _database_errors(engines), engines.sync.connect() as conn:
        name = conn.execute(_SLEEP_SQL[engines.backend], _sleep_params(engines.backend, ms))
        return _sleep_payload(engines.backend, ms, name.scalar())


def _query_blocking(engines: Engines, category: int) -> dict[str, Any]:
    with _database_errors(engines), engines.sync.connect() as conn:
        return _run_query(conn, category)


def _run_query(conn: Connection, category: int) -> dict[str, Any]:
    params = {"category": category}
    stats = conn.execute(_STATS_SQL, params).one()
    cheapest = list(conn.execute(_CHEAPEST_SQL, params))
    return _query_payload(category, stats, cheapest)


async def _run_query_async(conn: AsyncConnection, category: int) -> dict[str, Any]:
    params = {"category": category}
    stats = (await conn.execute(_STATS_SQL, params)).one()
    cheapest = list(await conn.execute(_CHEAPEST_SQL, params))
    return _query_payload(category, stats, cheapest)


# --- the endpoints -----------------------------------------------------------------------------


@router.get("/sync/db/sleep")
def db_sleep_sync(request: Request, ms: Millis = 100) -> dict[str, Any]:
    return _sleep_blocking(_engines(request), ms)


@router.get("/async/db/sleep")
async def db_sleep_async(request: Request, ms: Millis = 100) -> dict[str, Any]:
    engines = _engines(request)
    with _database_errors(engines):
        async with engines.async_.connect() as conn:
            result = await conn.execute(
                _SLEEP_SQL[engines.backend], _sleep_params(engines.backend, ms)
            )
            return _sleep_payload(engines.backend, ms, result.scalar())


@router.get("/sync/db/query")
def db_query_sync(request: Request, category: Category = 0) -> dict[str, Any]:
    return _query_blocking(_engines(request), category)


@router.get("/async/db/query")
async def db_query_async(request: Request, category: Category = 0) -> dict[str, Any]:
    engines = _engines(request)
    with _database_errors(engines):
        async with engines.async_.connect() as conn:
            return await _run_query_async(conn, category)


@router.get("/pitfall/db")
async def db_pitfall(request: Request, ms: Millis = 100) -> dict[str, Any]:
    # the pitfall: a blocking driver inside async def holds the event loop for the whole query
    return _sleep_blocking(_engines(request), ms)


@router.get("/fixed/db")
async def db_fixed(request: Request, ms: Millis = 100) -> dict[str, Any]:
    return await run_in_threadpool(_sleep_blocking, _engines(request), ms)
