"""``bench scan``: routes and where they run, blocking calls in async code (ruff's ASYNC rules
and the harness's own), a starter scenario that loads; on an app written outside the package."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scan.scanner import scan
from scenarios import load_file
from target_app.foreign import AppSpec
from tests.test_cli import error_line, invoke

APP = """
import sqlite3
import time

import requests
from fastapi import Depends, FastAPI, Path
from starlette.concurrency import run_in_threadpool

app = FastAPI()


def settings():
    return {"db": sqlite3.connect(":memory:")}  # a def dependency: runs in the thread pool


async def audit():
    sqlite3.connect(":memory:")  # an async dependency: on the loop
    return True


def load_report():
    time.sleep(0.1)


@app.get("/blocking")
async def blocking():
    time.sleep(0.1)
    requests.get("http://127.0.0.1:1")
    return {}


@app.get("/offloaded")
async def offloaded():
    await run_in_threadpool(load_report)
    return {}


@app.get("/inline")
async def inline():
    load_report()
    return {}


@app.get("/threads")
def threads(cfg=Depends(settings)):
    time.sleep(0.1)  # fine: a def route
    return {}


@app.get("/audited")
async def audited(ok=Depends(audit)):
    return {}


@app.get("/items/{item_id}")
async def item(item_id: int = Path(examples=[42])):
    return {"id": item_id}


@app.get("/users/{name}")
async def user(name: str):
    return {"name": name}


@app.post("/items")
async def create():
    return {}
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "scanned_app.py").write_text(APP)
    yield folder
    sys.modules.pop("scanned_app", None)


def test_routes_say_where_they_run_and_what_they_depend_on(app_dir: Path, tmp_path: Path) -> None:
    found = scan(AppSpec("scanned_app:app", app_dir=str(app_dir)), {}, tmp_path / "s.toml")
    by_path = {(r.methods, r.path): r for r in found.routes}
    threads = by_path[(("GET",), "/threads")]
    assert threads.handler.kind == "def" and threads.dependencies[0].name == "settings"
    assert threads.dependencies[0].kind == "def"
    assert by_path[(("GET",), "/audited")].dependencies[0].kind == "async def"
    assert (("POST",), "/items") in by_path


def test_suspects_are_the_blocking_calls_in_async_code_only(app_dir: Path, tmp_path: Path) -> None:
    found = scan(AppSpec("scanned_app:app", app_dir=str(app_dir)), {}, tmp_path / "s.toml")
    source = (app_dir / "scanned_app.py").read_text().splitlines()
    seen = {
        (s.route, s.code, source[int(s.where.rpartition(":")[2]) - 1].strip())
        for s in found.suspects
    }
    assert seen == {
        ("GET /blocking", "ASYNC251", "time.sleep(0.1)"),
        ("GET /blocking", "ASYNC210", 'requests.get("http://127.0.0.1:1")'),
        ("GET /inline", "BENCH003", "load_report()"),
        (
            "GET /audited",
            "BENCH001",
            'sqlite3.connect(":memory:")  # an async dependency: on the loop',
        ),
    }  # not /threads (def), not settings (def dependency), not /offloaded (passed, not called)


def test_the_starter_scenario_loads_and_lists_what_it_could_not_call(
    app_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "starter.toml"
    result = invoke("scan", "scanned_app:app", "--app-dir", str(app_dir), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "ASYNC251" in result.stdout and "starter scenario:" in result.stdout
    text = out.read_text()
    data = tomllib.loads(text)
    paths = [e["path"] for e in data["endpoints"]]
    assert "/items/42" in paths and "/blocking" in paths
    assert "# TODO: POST /items — not a GET route" in text
    assert "# TODO: GET /users/{name} — no example or default for the path parameter 'name'" in text
    assert {e["variant"] for e in data["endpoints"] if e["path"] == "/threads"} == {"sync"}
    scenario = load_file(out)
    assert scenario.app == "scanned_app:app" and scenario.app_dir == str(app_dir)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nosuch_mod:app"], "no module named 'nosuch_mod'"),
        (["scanned_app:nope"], "has no attribute 'nope'"),
        (["scanned_app:load_report"], "not an ASGI app; if it builds one, add --factory"),
        (["bad spec"], "Invalid value for MODULE:ATTR"),
        (["scanned_app:app", "--env", "1=x"], "Invalid value for --env"),
    ],
)
def test_bad_input_is_one_line(app_dir: Path, tmp_path: Path, args: list[str], words: str) -> None:
    result = invoke("scan", *args, "--app-dir", str(app_dir), "--out", str(tmp_path / "o.toml"))
    assert result.exit_code == 2
    assert words in error_line(result)


def test_an_existing_file_is_kept_unless_forced(app_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine.toml"
    out.write_text("# mine")
    result = invoke("scan", "scanned_app:app", "--app-dir", str(app_dir), "--out", str(out))
    assert "exists: pass --force" in error_line(result) and out.read_text() == "# mine"
    forced = invoke(
        "scan", "scanned_app:app", "--app-dir", str(app_dir), "--out", str(out), "--force"
    )
    assert forced.exit_code == 0 and out.read_text().startswith("# Written by `bench scan")


def test_the_bundled_apps_pitfalls_are_suspects_and_its_fixes_are_not(tmp_path: Path) -> None:
    spec = AppSpec("target_app.main:app_from_env", factory=True)
    routes = {s.route for s in scan(spec, {}, tmp_path / "s.toml").suspects}
    assert {"GET /pitfall/sleep", "GET /pitfall/http", "GET /pitfall/db"} <= routes
    assert not [r for r in routes if r.startswith(("GET /fixed/", "GET /async/"))]
