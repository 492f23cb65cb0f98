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


@app.get("/configured")
async def configured(cfg=Depends(settings)):
    return cfg


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


async def raw_asgi(scope, receive, send):
    pass
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "scanned_app.py").write_text(APP)
    yield folder
    sys.modules.pop("scanned_app", None)


def _line(app_dir: Path, where: str) -> str:
    source = (app_dir / "scanned_app.py").read_text().splitlines()
    return source[int(where.rpartition(":")[2]) - 1].strip()


def _lineno(text: str, after: str = "") -> int:
    """The line of ``text`` in APP (the first after the line ``after``)."""
    lines = APP.splitlines()
    start = lines.index(after) if after else 0
    return lines.index(text, start) + 1


def test_routes_say_where_they_run_and_what_they_depend_on(app_dir: Path, tmp_path: Path) -> None:
    found = scan(AppSpec("scanned_app:app", app_dir=str(app_dir)), {}, tmp_path / "s.toml")
    by_path = {(r.methods, r.path): r for r in found.routes}
    threads = by_path[(("GET",), "/threads")]
    assert threads.handler.kind == "def" and threads.dependencies[0].name == "settings"
    assert threads.dependencies[0].kind == "def"
    configured = by_path[(("GET",), "/configured")]
    assert configured.handler.kind == "async def" and configured.dependencies[0].kind == "def"
    assert by_path[(("GET",), "/audited")].dependencies[0].kind == "async def"
    decorated = _lineno('@app.get("/threads")')  # where its source starts, as inspect says
    assert threads.handler.where.endswith(f"scanned_app.py:{decorated}")
    assert (("POST",), "/items") in by_path


def test_suspects_are_the_blocking_calls_in_async_code_only(app_dir: Path, tmp_path: Path) -> None:
    found = scan(AppSpec("scanned_app:app", app_dir=str(app_dir)), {}, tmp_path / "s.toml")
    seen = [(s.route, s.code, _line(app_dir, s.where)) for s in found.suspects]
    assert seen == [
        ("GET /blocking", "ASYNC251", "time.sleep(0.1)"),
        ("GET /blocking", "ASYNC210", 'requests.get("http://127.0.0.1:1")'),  # once: ruff's
        ("GET /inline", "BENCH003", "load_report()"),
        (
            "GET /audited",
            "BENCH001",
            'sqlite3.connect(":memory:")  # an async dependency: on the loop',
        ),
    ]  # not /threads (def), not settings (a def dependency, even of the async /configured),
    # not /offloaded (load_report is passed to the thread pool, not called)
    sleep = _lineno("    time.sleep(0.1)", after='@app.get("/blocking")')
    assert found.suspects[0].where.endswith(f"scanned_app.py:{sleep}")


def test_the_cli_prints_both_tables_and_a_starter_that_loads(app_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "starter.toml"
    result = invoke("scan", "scanned_app:app", "--app-dir", str(app_dir), "--out", str(out))
    assert result.exit_code == 0, result.output
    table = result.stdout.split("\n\n")[0].splitlines()[1:]
    rows = {next(t for t in line.split() if t.startswith("/")): line for line in table}
    assert "def        thread pool  settings (def, thread pool)" in rows["/threads"]
    assert "async def  event loop   settings (def, thread pool)" in rows["/configured"]
    assert "/openapi.json" in rows and "suspects: 4 blocking call(s)" in result.stdout
    assert "ASYNC251" in result.stdout and f"starter scenario: {out}" in result.stdout
    text = out.read_text()
    assert text.startswith("# Written by `bench scan scanned_app:app`")
    assert f"bench run {out}" in text.splitlines()[1]
    data = tomllib.loads(text)
    assert data["name"] == "scanned-app" and data["users"] == [10, 50]
    assert data["app"] == "scanned_app:app" and data["app_dir"] == "src"  # relative to the file
    assert {e["label"]: e["path"] for e in data["endpoints"]}["GET /items/{item_id}"] == "/items/42"
    assert {e["variant"] for e in data["endpoints"] if e["path"] == "/threads"} == {"sync"}
    assert {e["variant"] for e in data["endpoints"] if e["path"] == "/blocking"} == {"async"}
    assert not [e for e in data["endpoints"] if "model" in e or e["path"] == "/openapi.json"]
    assert "# TODO: POST /items — not a GET route" in text
    assert "# TODO: GET /users/{name} — no example or default for the path parameter 'name'" in text


def test_the_starter_loads_as_a_scenario(app_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "starter.toml"
    assert (
        invoke("scan", "scanned_app:app", "--app-dir", str(app_dir), "--out", str(out)).exit_code
        == 0
    )
    scenario = load_file(out)
    assert scenario.app == "scanned_app:app" and scenario.app_dir == str(app_dir.resolve())  # type: ignore[union-attr]
    assert "GET /items/{item_id}" in [e.label for e in scenario.endpoints]  # type: ignore[union-attr]


def test_without_app_dir_the_app_is_imported_from_the_current_folder(
    app_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app_dir)
    monkeypatch.delenv("SCAN_TEST_TOKEN", raising=False)  # unset again after the test
    result = invoke("scan", "scanned_app:app", "--env", "SCAN_TEST_TOKEN=s3cret")
    assert result.exit_code == 0, result.output
    text = (app_dir / "scan-scanned_app.toml").read_text()
    assert tomllib.loads(text)["app_dir"] == "."
    assert '# SCAN_TEST_TOKEN = "…"' in text and "s3cret" not in text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nosuch_mod:app"], "no module named 'nosuch_mod'"),
        (["scanned_app:nope"], "has no attribute 'nope'"),
        (["scanned_app:load_report"], "not an ASGI app; if it builds one, add --factory"),
        (["scanned_app:raw_asgi"], "not a FastAPI or Starlette app"),
        (["bad spec"], "Invalid value for MODULE:ATTR"),
        (["scanned_app:app", "--env", "1=x"], "Invalid value for --env"),
    ],
)
def test_bad_input_is_one_line(app_dir: Path, tmp_path: Path, args: list[str], words: str) -> None:
    out = tmp_path / "o.toml"
    result = invoke("scan", *args, "--app-dir", str(app_dir), "--out", str(out))
    assert result.exit_code == 2
    assert words in error_line(result)
    assert not out.exists()


def test_an_existing_file_is_kept_unless_forced(app_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine.toml"
    out.write_text("# mine")
    result = invoke("scan", "scanned_app:app", "--app-dir", str(app_dir), "--out", str(out))
    assert result.exit_code == 2
    assert "exists: pass --force" in error_line(result) and out.read_text() == "# mine"
    forced = invoke(
        "scan", "scanned_app:app", "--app-dir", str(app_dir), "--out", str(out), "--force"
    )
    assert forced.exit_code == 0 and out.read_text().startswith("# Written by `bench scan")


def test_the_bundled_apps_pitfalls_are_suspects_and_its_fixes_are_not(tmp_path: Path) -> None:
    out = tmp_path / "s.toml"
    result = invoke("scan", "target_app.main:app_from_env", "--factory", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "/fixed/sleep" in result.stdout and "/pitfall/missing-await" in result.stdout
    spec = AppSpec("target_app.main:app_from_env", factory=True)
    routes = {s.route for s in scan(spec, {}, out).suspects}
    assert routes == {
        "GET /pitfall/sleep",
        "GET /pitfall/http",
        "GET /pitfall/db",
        "WS /ws/pitfall/echo",  # time.sleep inside a WebSocket handler blocks the loop too
    }
    assert tomllib.loads(out.read_text())["factory"] is True
