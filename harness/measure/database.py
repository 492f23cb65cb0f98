"""The database side of a run: user-given URLs checked before any load, metadata, seeding.

The embedded server itself is ``harness/measure/postgres.py``; the schema and the seed rows are
``target_app/db.py``, shared with the app's routes.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.pool import NullPool

from harness.errors import BenchError
from target_app.db import ITEMS, SEED_ROWS, backend_of, seed_rows, sync_url
from target_app.settings import redact_url

# --- user-given databases, metadata, seeding --------------------------------------------------


def _reason(error: BaseException, url: str) -> str:
    """First line of an error, with the URL's passwords masked wherever they appear (a driver
    may quote them bare): the userinfo's and any ``password=`` parameter's."""
    lines = str(error).strip().splitlines()
    message = lines[0].strip() if lines else type(error).__name__
    found = re.findall(r"^[^:/]+://[^:/@]*:([^@]+)@", url)
    found += re.findall(r"[?&]password=([^&#]+)", url, re.IGNORECASE)
    for secret in found:
        if len(secret) >= 4:  # shorter ones would mask ordinary words
            message = message.replace(secret, "***")
    return message


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def check_database_url(url: str, timeout_s: float = 3.0) -> dict[str, Any]:
    """Connect once before any load; BenchError naming the URL (no password) and the reason."""
    try:
        backend = backend_of(url)
    except Exception as error:  # malformed URL or unknown backend
        reason = _reason(error, url)
        raise BenchError(f"bad --database-url {redact_url(url)}: {reason}") from error
    try:
        return database_info(url, timeout_s=timeout_s)
    except Exception as error:
        reason = _reason(error, url)
        hint = "check the URL and that the server is up, or use --database postgres (embedded)"
        if backend == "sqlite":
            hint = "seed it first, or use --database sqlite (a fresh seeded file)"
        raise BenchError(f"cannot connect to {redact_url(url)}: {reason}; {hint}") from error


def database_info(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """What a run records about its database: server version, max_connections, fsync."""
    if backend_of(url) == "sqlite":
        path = make_url(url).database or ""
        if not path or not Path(path).exists():
            raise FileNotFoundError(f"no SQLite file at {path or '(empty path)'}")
        with contextlib.closing(sqlite3.connect(path, timeout=timeout_s)) as conn:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            sync = conn.execute("PRAGMA synchronous").fetchone()[0]
        version = sqlite3.sqlite_version
        return {
            "backend": "sqlite",
            "server_version": version,
            "path": path,
            "journal_mode": mode,
            "synchronous": sync,
            "max_connections": None,
        }
    names = ("server_version", "max_connections", "fsync", "synchronous_commit", "shared_buffers")
    query = "SELECT " + ", ".join(f"current_setting('{n}')" for n in names)
    timeout = max(2, round(timeout_s))  # libpq's minimum
    with psycopg.connect(_libpq_url(url), connect_timeout=timeout) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    info: dict[str, Any] = {"backend": "postgresql", **dict(zip(names, row, strict=True))}
    info["max_connections"] = int(info["max_connections"])
    info["url"] = redact_url(url)
    return info


@dataclass(frozen=True)
class SeedResult:
    created: bool
    rows: int
    seconds: float


def seed_items(url: str, rows: int = SEED_ROWS) -> SeedResult:
    """Create and fill ``items`` (index on ``category``) unless it already holds rows.

    ``url`` is any SQLAlchemy URL of PostgreSQL or SQLite; the sync driver is used. Rows are
    deterministic, so two seeded databases answer the same queries with the same results.
    """
    started = time.perf_counter()
    backend = backend_of(url)
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            if backend == "postgresql":  # concurrent seeders wait for each other
                conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
            ITEMS.create(conn, checkfirst=True)
            existing = conn.execute(select(func.count()).select_from(ITEMS)).scalar_one()
            if existing:
                return SeedResult(False, int(existing), round(time.perf_counter() - started, 3))
            data = seed_rows(rows)
            for start in range(0, rows, 5000):
                conn.execute(ITEMS.insert(), data[start : start + 5000])
        with engine.begin() as conn:
            conn.execute(text("ANALYZE items"))
    finally:
        engine.dispose()
    return SeedResult(True, rows, round(time.perf_counter() - started, 3))
