"""End to end: the harness measures an app it does not ship — served by it (``--app``, written
by the test outside the package) or already running (``--target``) — and says what it lacks."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.helpers import BENCH, E2E, gone

pytestmark = E2E

APP = """
import contextlib, os, time
from fastapi import FastAPI

STARTED = []


@contextlib.asynccontextmanager
async def lifespan(app):
    STARTED.append(os.environ.get("GREETING", "unset"))
    yield


def create_app():
    app = FastAPI(lifespan=lifespan)

    @app.get("/hello")
    async def hello():
        return {"greeting": STARTED[-1] if STARTED else "no lifespan"}

    @app.get("/block")
    async def block():
        time.sleep(0.005)
        return {}

    @app.post("/items", status_code=201)
    async def create(item: dict):
        return {"name": item["name"]}

    return app


app = create_app()
"""

INSTRUMENTED = """
from target_app.instrumentation import install_instrumentation
install_instrumentation(app)
"""

SCENARIO = """
name = "mine"
description = "e2e: a user's own app"
users = [4]
duration = "1s"
warmup = "0.5s"
[parameters]
name = "widget"
[[endpoints]]
label = "hello"
variant = "async"
path = "/hello"
expect_body = "{greeting}"
[[endpoints]]
label = "create"
variant = "async"
method = "POST"
path = "/items"
json = { name = "{name}-1" }
expect_status = 201
expect_body = "widget-1"
[[endpoints]]
label = "block"
variant = "pitfall"
path = "/block"
solo = false
model = { concurrency = "serial", service_ms = "5" }
[[mix]]
label = "hello and block"
endpoints = [{ label = "hello", weight = 3 }, { label = "block", weight = 1 }]
"""


TARGET_SCENARIO = """
name = "mine"
description = "e2e: a server already running"
users = [4]
duration = "1s"
warmup = "0.5s"
[[endpoints]]
label = "hello"
variant = "async"
path = "/hello"
"""


def _left_running(tmp_path: Path) -> list[psutil.Process]:
    """Processes still running in the test's folder (the app the harness started runs there)."""
    found = []
    for proc in psutil.process_iter(["cwd"]):
        if proc.info["cwd"] == str(tmp_path):
            found.append(proc)
    return gone(found)


def _write(tmp_path: Path, scenario: str = "", app: str = APP) -> Path:
    scenario = scenario or SCENARIO.replace("{greeting}", "unset")
    (tmp_path / "userapp").mkdir()
    (tmp_path / "userapp" / "service.py").write_text(app)
    path = tmp_path / "mine.toml"
    path.write_text(scenario)
    return path


def _bench(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BENCH, "run", *args, "--out", str(tmp_path / "runs"), "--no-report"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )


def _run(tmp_path: Path) -> tuple[Path, dict]:
    run_dir = (tmp_path / "runs" / "latest").resolve()
    return run_dir, json.loads((run_dir / "results.json").read_text())


def test_app_is_served_instrumented_and_its_lifespan_runs(tmp_path: Path) -> None:
    scenario = _write(tmp_path, SCENARIO.replace("{greeting}", "bonjour"))
    done = _bench(
        tmp_path,
        str(scenario),
        "--app",
        "service:create_app",
        "--factory",
        "--app-dir",
        str(tmp_path / "userapp"),
        "--env",
        "GREETING=bonjour",  # the preflight checks the lifespan saw it
    )
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir, doc = _run(tmp_path)
    assert [m["endpoint"] for m in doc["measurements"]] == ["hello", "create", "hello and block"]
    assert all(m["status"] == "ok" for m in doc["measurements"])
    record = doc["scenarios"][0]
    assert record["served_by"]["kind"] == "app" and record["app"]["instrumented"]
    assert record["served_by"]["env"] == ["GREETING"]  # names only
    assert not any(s["name"] == "calibration" for s in doc["scenarios"])
    metrics = json.loads((run_dir / doc["measurements"][0]["metrics"]).read_text())
    assert metrics["series"] and all("loop_lag_ms" in s for s in metrics["series"])
    # the POST was sent with its templated body and its 201 counted as a success
    with (run_dir / doc["measurements"][1]["samples"]).open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["status"] == "201" and r["error"] == "" for r in rows)
    # the mix: both endpoints, about 3:1, each row named; the names add up to the rows
    with (run_dir / doc["measurements"][2]["samples"]).open() as fh:
        names = Counter(r["name"] for r in csv.DictReader(fh))
    assert set(names) == {"hello", "block"}
    assert names["hello"] > names["block"] > 0


@pytest.mark.parametrize(
    ("app", "spec", "words"),
    [
        (APP, "nosuch:app", "--app nosuch:app: no module named 'nosuch'"),
        (APP, "service:nope", "module 'service' has no attribute 'nope'"),
        (APP.replace("app = create_app()", "app = 42"), "service:app", "is not an ASGI app"),
        (APP, "service:create_app", "if it builds one, add --factory"),
        (
            APP.replace("\napp = create_app()", "").replace(
                "def create_app():\n",
                "def create_app():\n    raise ValueError('no DATABASE_URL')\n",
            ),
            "service:create_app --factory",
            "the factory service:create_app raised: ValueError: no DATABASE_URL",
        ),
        (
            APP.replace("import contextlib", "import nosuchdependency, contextlib"),
            "service:app",
            "importing service failed: ModuleNotFoundError: No module named 'nosuchdependency'",
        ),
    ],
)
def test_an_app_that_cannot_be_loaded_is_one_line(
    tmp_path: Path, app: str, spec: str, words: str
) -> None:
    scenario = _write(tmp_path, app=app)
    name, *flags = spec.split()
    done = _bench(tmp_path, str(scenario), "--app", name, *flags, "--app-dir", "userapp")
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and words in last, last
    assert "Traceback" not in done.stderr
    assert not _left_running(tmp_path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(tmp_path: Path, module: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"{module}:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--app-dir",
            str(tmp_path / "userapp"),
        ],
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/hello", timeout=1)
            return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    pytest.fail("the test's own server did not start")


@pytest.mark.parametrize("instrumented", [True, False])
def test_a_running_target_is_measured_and_missing_signals_are_said(
    tmp_path: Path, instrumented: bool
) -> None:
    scenario = _write(tmp_path, TARGET_SCENARIO, APP + (INSTRUMENTED if instrumented else ""))
    server, url = _serve(tmp_path, "service")
    try:
        done = _bench(tmp_path, str(scenario), "--target", url)
        assert done.returncode == 0, done.stderr[-2000:]
        assert server.poll() is None, "the harness must leave a target it did not start alone"
    finally:
        server.terminate()
        server.wait(10)
    run_dir, doc = _run(tmp_path)
    record = doc["scenarios"][0]
    assert record["served_by"] == {
        "kind": "target",
        "app": "",
        "factory": False,
        "app_dir": "",
        "target": url,
        "env": [],
    }
    measurement = doc["measurements"][0]
    assert measurement["status"] == "ok"
    assert bool(measurement["metrics"]) is instrumented
    report = subprocess.run([*BENCH, "report", str(run_dir)], capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
    summary = (run_dir / "summary.md").read_text()
    assert ("are not available" in summary) is not instrumented
    assert "| claim |" not in summary  # the bundled app's claims are not about this app


def test_a_target_that_does_not_answer_is_one_line_and_no_folder(tmp_path: Path) -> None:
    scenario = _write(tmp_path)
    done = _bench(tmp_path, str(scenario), "--target", f"http://127.0.0.1:{_free_port()}")
    assert done.returncode == 2
    assert "nothing answers (connection refused)" in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (('method = "POST"', 'method = "PUT"'), "(PUT /items) answered 405 Method Not Allowed"),
        (('expect_body = "widget-1"', 'expect_body = "gadget"'), "without 'gadget' in its body"),
    ],
)
def test_preflight_names_the_endpoint_and_what_came_back(
    tmp_path: Path, edit: tuple[str, str], words: str
) -> None:
    scenario = _write(tmp_path, SCENARIO.replace("{greeting}", "unset").replace(*edit))
    done = _bench(tmp_path, str(scenario), "--app", "service:app", "--app-dir", "userapp")
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert "endpoint 'create'" in last and words in last, last
    run_dir, doc = _run(tmp_path)
    assert doc["status"] == "failed" and not doc["measurements"]
    assert not _left_running(tmp_path)
