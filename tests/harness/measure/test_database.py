"""harness.database against real servers: the embedded PostgreSQL, a closed port, SQLite files."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import psutil
import psycopg
import pytest

from harness.errors import BenchError
from harness.measure.database import check_database_url, database_info, seed_items
from harness.measure.postgres import EmbeddedPostgres
from target_app.db import CATEGORIES, SEED_ROWS, async_url, sync_url


def _answers(url: str) -> int:
    with psycopg.connect(url, connect_timeout=2) as conn:
        row = conn.execute("SELECT 41 + 1").fetchone()
    assert row is not None
    return int(row[0])


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_embedded_postgres_starts_answers_and_stops() -> None:
    with EmbeddedPostgres(max_connections=30) as pg:
        pid, folder, port = pg.pid, pg.folder, pg.port
        assert folder is not None and folder.is_dir()
        assert pg.url == f"postgresql://postgres@127.0.0.1:{port}/postgres"
        assert _answers(pg.url) == 42
        info = {**database_info(pg.url), **pg.metadata()}
        assert info["max_connections"] == 30
        assert info["fsync"] == "off"
        assert info["server_version"].split(".")[0].isdigit()
        assert info["startup_s"]["total_s"] > 0
        assert psutil.Process(pid).is_running()
    assert _gone(pid)
    assert not folder.exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_embedded_postgres_stops_on_keyboard_interrupt() -> None:
    with pytest.raises(KeyboardInterrupt), EmbeddedPostgres(max_connections=10) as pg:
        pid, folder = pg.pid, pg.folder
        raise KeyboardInterrupt
    assert _gone(pid)
    assert folder is not None and not folder.exists()


def test_missing_binaries_suggest_sqlite(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="--database sqlite") as raised:
        EmbeddedPostgres(bin_dir=tmp_path)
    assert str(tmp_path) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_unreachable_url_names_host_and_port_but_not_the_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens
    url = f"postgresql://bench:s3cr3t-pw@127.0.0.1:{port}/bench"
    with pytest.raises(BenchError) as raised:
        check_database_url(url, timeout_s=2)
    message = str(raised.value)
    assert f"127.0.0.1:{port}" in message
    assert "s3cr3t-pw" not in message
    assert "bench:***@" in message
    assert "\n" not in message


def test_check_database_url_returns_what_the_run_records(postgres_url: str) -> None:
    info = check_database_url(postgres_url)
    assert info["backend"] == "postgresql"
    assert info["max_connections"] == 100
    assert info["fsync"] == "off"


def test_check_database_url_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    assert check_database_url(sqlite_url)["backend"] == "sqlite"
    with pytest.raises(BenchError, match="cannot connect"):
        check_database_url(f"sqlite:///{tmp_path / 'missing.sqlite3'}")


def test_driver_urls(embedded_postgres: EmbeddedPostgres, tmp_path: Path) -> None:
    url = "postgresql://u:p@127.0.0.1:5432/db"
    assert sync_url(url) == "postgresql+psycopg://u:p@127.0.0.1:5432/db"
    assert async_url(url) == "postgresql+asyncpg://u:p@127.0.0.1:5432/db"
    assert embedded_postgres.psycopg_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert embedded_postgres.asyncpg_url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
    assert async_url(f"sqlite:///{tmp_path}/x.db") == f"sqlite+aiosqlite:///{tmp_path}/x.db"


def test_seeding_is_idempotent_on_postgres(postgres_url: str) -> None:
    again = seed_items(postgres_url)
    assert not again.created
    assert again.rows == SEED_ROWS


def test_seeding_is_idempotent_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "seed.sqlite3"
    first = seed_items(f"sqlite:///{path}", rows=1000)
    second = seed_items(f"sqlite:///{path}", rows=1000)
    assert (first.created, first.rows) == (True, 1000)
    assert (second.created, second.rows) == (False, 1000)
    with sqlite3.connect(path) as conn:
        rows, categories = conn.execute(
            "SELECT count(*), count(DISTINCT category) FROM items"
        ).fetchone()
        indexes = [r[1] for r in conn.execute("PRAGMA index_list('items')")]
    conn.close()
    assert (rows, categories) == (1000, CATEGORIES)
    assert "ix_items_category" in indexes
    assert database_info(f"sqlite:///{path}")["server_version"] == sqlite3.sqlite_version
