"""The database both sides agree on: the ``items`` schema, its seed rows and URL helpers.

A plain module (no FastAPI): the routes of ``target_app/routes/database.py`` query this schema,
and the harness creates and seeds it before any load (``harness/measure/database.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, Numeric, Table, Text, make_url

from target_app.settings import redact_url

CATEGORIES = 100
"""Categories 0..99 in the seeded ``items`` table."""
SEED_ROWS = 20_000
"""Rows seeded by default: 200 per category."""
SLEEP_ITEM_ID = 1
"""The row looked up by the ``db/sleep`` endpoints."""

metadata = MetaData()
ITEMS = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("category", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("price", Numeric(10, 2, asdecimal=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_items_category", "category"),
)

SYNC_DRIVERS = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite"}
ASYNC_DRIVERS = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}


def seed_rows(rows: int = SEED_ROWS) -> list[dict[str, Any]]:
    """Deterministic rows: two seeded databases answer the same queries with the same results."""
    base = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        {
            "category": (i - 1) % CATEGORIES,
            "name": f"item-{i:05d}",
            "price": ((i * 7919) % 100_000) / 100,  # 0.00 .. 999.99, deterministic
            "created_at": base + timedelta(minutes=i),
        }
        for i in range(1, rows + 1)
    ]


def backend_of(url: str) -> str:
    """``postgresql`` or ``sqlite`` for a SQLAlchemy URL, whatever driver it names."""
    name = make_url(url).get_backend_name()
    if name.startswith("postgres"):
        return "postgresql"
    if name == "sqlite":
        return "sqlite"
    raise ValueError(f"unsupported database {redact_url(url)}: use postgresql:// or sqlite:///")


def _with_driver(url: str, drivers: Mapping[str, str]) -> str:
    parsed = make_url(url).set(drivername=drivers[backend_of(url)])
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """``postgresql://…`` → ``postgresql+psycopg://…``; ``sqlite:///f`` stays (sqlite3)."""
    return _with_driver(url, SYNC_DRIVERS)


def async_url(url: str) -> str:
    """``postgresql://…`` → ``postgresql+asyncpg://…``; ``sqlite:///f`` → ``sqlite+aiosqlite``."""
    return _with_driver(url, ASYNC_DRIVERS)
