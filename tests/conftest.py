"""Fixtures shared by every test package.

Database: ONE embedded PostgreSQL for the whole session (started on first use, stopped at the
end), and one SQLite file; both seeded with the same deterministic ``items`` table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.measure.database import seed_items
from harness.measure.postgres import EmbeddedPostgres


@pytest.fixture(scope="session")
def embedded_postgres() -> Iterator[EmbeddedPostgres]:
    """The session's PostgreSQL server (127.0.0.1, free port, fsync off), ``items`` seeded."""
    with EmbeddedPostgres(max_connections=100) as server:
        seed_items(server.url)
        yield server


@pytest.fixture(scope="session")
def postgres_url(embedded_postgres: EmbeddedPostgres) -> str:
    """``postgresql://postgres@127.0.0.1:<port>/postgres`` of the seeded session server."""
    return embedded_postgres.url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``sqlite:///<tmp>/bench.sqlite3``, ``items`` seeded (read-only for tests)."""
    path: Path = tmp_path_factory.mktemp("sqlite") / "bench.sqlite3"
    url = f"sqlite:///{path}"
    seed_items(url)
    return url
