"""The harness's own rules: blocking calls ruff has no rule for, found only where they run on
the loop (not awaited, not in a nested ``def`` or ``lambda`` handed to a thread)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from harness.scan import blockers
from harness.scan.routes import function
from harness.scan.suspects import Suspect, suspects, user_file

SOURCE = """
import sqlite3
import time

import httpx
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://")
async_engine = create_async_engine("sqlite+aiosqlite://")
SessionLocal = sessionmaker(engine)


async def orm(db, session):
    with Session(engine) as s:  # line 17
        s.scalars(text("select 1"))
    with engine.connect() as conn:  # line 19
        conn.execute(text("select 1"))  # line 20
    local = SessionLocal()  # line 21
    db.query(int).all()  # line 22
    session.get(int, 1)  # line 23
    return local


async def fine(db, client, cache):
    async with async_engine.connect() as conn:
        await conn.execute(text("select 1"))
    result = await db.execute(text("select 1"))
    result.scalars()
    cache.get("key")

    def in_a_thread():
        return sqlite3.connect(":memory:")

    later = lambda: time.sleep(1)  # noqa: E731
    return in_a_thread, later, await client.get("http://x")


async def http(client):
    with requests.Session() as s:
        s.get("http://x")  # line 43
    pool = requests.Session()
    pool.post("http://x")  # line 45
    client.session.get(f"http://x/{1}")  # line 46
    requests.Session().get("http://x")  # line 47
    session = httpx.Client()
    session.get("http://x")  # line 49: ruff's ASYNC212, not a BENCH002 as well
"""


@pytest.fixture
def module(tmp_path: Path) -> Iterator[ModuleType]:
    path = tmp_path / "blocky.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location("blocky", path)
    assert spec and spec.loader
    loaded = importlib.util.module_from_spec(spec)
    sys.modules["blocky"] = loaded
    spec.loader.exec_module(loaded)
    yield loaded
    sys.modules.pop("blocky", None)


def _found(fn: object) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in blockers.findings(fn, user_file)]  # type: ignore[arg-type]


def test_sync_database_calls_are_found(module: ModuleType) -> None:
    assert _found(module.orm) == [
        (17, "BENCH001"),  # Session(engine): sqlalchemy.orm's, looked up in the module
        (19, "BENCH001"),  # engine.connect() in a plain `with`
        (20, "BENCH001"),  # conn.execute() not awaited
        (21, "BENCH001"),  # a sessionmaker's session
        (22, "BENCH001"),  # db.query()
        (23, "BENCH001"),  # session.get(Model, id): the ORM's get, not HTTP
    ]


def test_awaited_threaded_and_harmless_calls_are_not(module: ModuleType) -> None:
    assert _found(module.fine) == []


def test_sync_http_sessions_are_found(module: ModuleType) -> None:
    found = _found(module.http)
    assert found == [(43, "BENCH002"), (45, "BENCH002"), (46, "BENCH002"), (47, "BENCH002")] + [
        (49, "BENCH002")  # an httpx.Client named session: ruff's ASYNC212 has it too
    ]


def test_a_line_ruff_flags_is_not_flagged_twice(module: ModuleType) -> None:
    class Route:
        label = "GET /http"
        handler = function(module.http)
        dependencies = ()

    found: list[Suspect] = suspects([Route()])  # type: ignore[list-item]
    by_line = {int(s.where.rpartition(":")[2]): s.code for s in found}
    assert by_line[49] == "ASYNC212" and by_line[43] == "BENCH002"
    assert len([s for s in found if s.where.endswith(":49")]) == 1


GENERATORS = """
import time


def rows():
    time.sleep(1)
    yield 1


async def streamed(respond):
    return respond(rows())  # handed on: pulled elsewhere (a thread), nothing runs here


async def looped():
    for row in rows():  # line 15: the body runs on the loop
        pass
    return [r for r in rows()]  # line 17: so does this one
"""


def test_a_generator_helper_blocks_only_where_the_loop_iterates_it(tmp_path: Path) -> None:
    path = tmp_path / "gens.py"
    path.write_text(GENERATORS)
    spec = importlib.util.spec_from_file_location("gens", path)
    assert spec and spec.loader
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    assert _found(loaded.streamed) == []
    assert _found(loaded.looped) == [(15, "BENCH003"), (17, "BENCH003")]
