"""Trust under faults, end to end: secrets never written, a dead child stops the run, a killed
harness leaves nothing behind (issue: trust under faults)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from harness.measure import orphans
from tests.e2e.helpers import BENCH, E2E, assert_all_gone, descendants, gone

SECRET = "hunter2"

pytestmark = E2E

DB_SCENARIO = """
name = "tinydb"
description = "e2e: one database wait"
users = [4]
duration = "1s"
warmup = "0s"
services = ["database"]
[[endpoints]]
label = "async db sleep"
variant = "async"
path = "/async/db/sleep?ms=5"
model = { concurrency = "users", service_ms = "5" }
"""


def test_no_password_is_written_or_printed(tmp_path: Path, postgres_url: str) -> None:
    """The password of --database-url and of a URL in --setting: masked in results.json, the
    page, the summary, the logs and everything the run printed."""
    with_password = postgres_url.replace("postgres@", f"postgres:{SECRET}@")
    scenario = tmp_path / "tinydb.toml"
    scenario.write_text(DB_SCENARIO)
    proc = subprocess.run(
        [
            *BENCH,
            "run",
            str(scenario),
            "--database-url",
            with_password,
            "--setting",
            f"database_url=postgresql://me:{SECRET}@127.0.0.1:1/x?password={SECRET}",
            "--no-calibrate",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert SECRET not in proc.stdout + proc.stderr
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in files) and len(files) > 5
    leaks = [str(p) for p in files if SECRET.encode() in p.read_bytes()]
    assert not leaks, leaks
    run_dir = next(p.parent for p in files if p.name == "results.json")
    command = json.loads((run_dir / "results.json").read_text())["command"]
    assert any("postgres:***@" in arg for arg in command)


SLEEP = """
name = "two"
description = "e2e: two short sleeps, then a long one"
users = [3]
duration = "1s"
warmup = "0s"
[[endpoints]]
label = "sync sleep"
variant = "sync"
path = "/sync/sleep?ms=10"
model = { concurrency = "threadpool", service_ms = "10" }
[[endpoints]]
label = "async sleep"
variant = "async"
path = "/async/sleep?ms=10"
model = { concurrency = "users", service_ms = "10" }
"""


def _start(tmp_path: Path, scenario: str, *extra: str) -> subprocess.Popen[str]:
    path = tmp_path / "scenario.toml"
    path.write_text(scenario)
    argv = [*BENCH, "run", str(path), "--no-calibrate", "--out", str(tmp_path / "out"), *extra]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )


def _wait_for(bench: subprocess.Popen[str], what: str, timeout_s: float = 60) -> psutil.Process:
    """The descendant of ``bench`` whose command line holds ``what`` (once it is running)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in descendants(bench.pid):
            with contextlib.suppress(psutil.Error):
                if what in " ".join(child.cmdline()):
                    return child
        time.sleep(0.1)
    bench.kill()
    pytest.fail(f"{what} never started")


def _run_dir(tmp_path: Path) -> Path:
    return next(p for p in (tmp_path / "out").iterdir() if p.is_dir() and not p.is_symlink())


def test_an_app_that_dies_mid_run_stops_the_run(tmp_path: Path) -> None:
    """kill -9 of the app during the second measurement: the run stops at once, failed, names
    the app and the signal, keeps the first measurement, and exits non-zero."""
    bench = _start(tmp_path, SLEEP.replace("users = [3]", "users = [3]\nrepeat = 2"))
    try:
        app = _wait_for(bench, "uvicorn")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the first measurement is stored
            with contextlib.suppress(OSError, StopIteration, ValueError):
                doc = json.loads((_run_dir(tmp_path) / "results.json").read_text())
                if doc["measurements"]:
                    break
            time.sleep(0.1)
        app.kill()
        killed_at = time.monotonic()
        _, stderr = bench.communicate(timeout=60)
        stopped_within = time.monotonic() - killed_at
    finally:
        if bench.poll() is None:
            bench.kill()
    assert bench.returncode == 3, stderr[-2000:]
    assert stopped_within < 10, "the dead app was noticed at once, not after a 60 s wait"
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("error: the app exited during") and "SIGKILL" in line
    doc = json.loads((_run_dir(tmp_path) / "results.json").read_text())
    assert doc["status"] == "failed" and "the app exited" in doc["note"]
    assert len(doc["measurements"]) >= 1 and all(m["status"] == "ok" for m in doc["measurements"])
    assert gone(descendants(bench.pid)) == []


def test_sigterm_is_named_in_the_run(tmp_path: Path) -> None:
    bench = _start(tmp_path, SLEEP.replace('duration = "1s"', 'duration = "60s"'))
    try:
        _wait_for(bench, "locust")
        bench.send_signal(signal.SIGTERM)
        _, stderr = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            bench.kill()
    assert bench.returncode == 130 and "terminated (SIGTERM)" in stderr
    doc = json.loads((_run_dir(tmp_path) / "results.json").read_text())
    assert doc["status"] == "incomplete" and doc["note"] == "terminated (SIGTERM)"


def test_a_killed_harness_leaves_no_child_and_its_run_says_so(tmp_path: Path) -> None:
    """SIGKILL of bench itself: every child dies with it (PR_SET_PDEATHSIG), and the run it was
    writing is read back as incomplete, "the harness was killed", not as running."""
    bench = _start(tmp_path, SLEEP.replace('duration = "1s"', 'duration = "60s"'))
    try:
        _wait_for(bench, "locust")
        children = descendants(bench.pid)
        assert len(children) >= 2
        bench.kill()
        bench.communicate(timeout=10)  # reaps it and closes its pipes
    finally:
        if bench.poll() is None:
            bench.kill()
    assert_all_gone(children)
    report = subprocess.run(
        [*BENCH, "report", str(_run_dir(tmp_path))], capture_output=True, text=True, timeout=120
    )
    assert report.returncode == 0, report.stderr[-2000:]
    html = (_run_dir(tmp_path) / "index.html").read_text()
    assert "This run is incomplete" in html and "the harness was killed" in html


def test_a_killed_harness_leaves_no_postgres_and_its_folder_is_reaped(tmp_path: Path) -> None:
    """SIGKILL of bench during a database run: the embedded PostgreSQL (postmaster and
    backends) stops with it; its data folder is removed by the next server's start."""
    bench = _start(tmp_path, DB_SCENARIO.replace('duration = "1s"', 'duration = "60s"'))
    try:
        _wait_for(bench, "locust")
        doc = json.loads((_run_dir(tmp_path) / "results.json").read_text())
        database = doc["scenarios"][0]["dependencies"]["database"]
        folder, pid = Path(database["folder"]), database["pid"]
        server = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        assert database["dies_with_harness"] and len(server) > 1
        bench.kill()
        bench.communicate(timeout=10)
    finally:
        if bench.poll() is None:
            bench.kill()
    deadline = time.monotonic() + 20
    while gone(server) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gone(server) == [], "PostgreSQL outlived the killed harness"
    assert folder.is_dir(), "a killed harness cannot remove the folder itself"
    done = orphans.reap()
    assert not folder.exists()
    assert any(str(folder) in line for line in done)


@pytest.mark.parametrize(
    ("edit", "extra", "words"),
    [
        (("/async/sleep?ms=10", "/nosuch"), (), "GET /nosuch) answered 404 Not Found"),
        (("?ms=10", "?ms={ms}"), ("--param", "ms=abc"), "?ms=abc) answered 422"),
    ],
)
def test_an_endpoint_that_fails_stops_the_run_before_any_load(
    tmp_path: Path, edit: tuple[str, str], extra: tuple[str, ...], words: str
) -> None:
    scenario = SLEEP.replace(*edit).replace('warmup = "0s"', 'warmup = "0s"\n[parameters]\nms = 10')
    bench = _start(tmp_path, scenario, *extra)
    _, stderr = bench.communicate(timeout=120)
    assert bench.returncode == 2, stderr[-2000:]
    assert words in stderr.strip().splitlines()[-1]
    run_dir = _run_dir(tmp_path)
    assert not list((run_dir / "samples").iterdir()), "no load was sent"
    assert json.loads((run_dir / "results.json").read_text())["status"] == "failed"


def test_swagger_ui_renders_without_internet(tmp_path: Path) -> None:
    """`bench serve` promises Swagger UI at /docs: its assets come from the installed package,
    so headless Chromium, with every host but 127.0.0.1 unresolvable, shows the endpoints."""
    browser = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    serve = subprocess.Popen(
        [*BENCH, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        dom = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--virtual-time-budget=8000",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--dump-dom",
                f"http://127.0.0.1:{port}/docs",
            ],
            capture_output=True,
            text=True,
            timeout=90,
        ).stdout
    finally:
        serve.terminate()
        serve.wait(timeout=20)
    assert "/_bench/docs-static/swagger-ui-bundle.js" in dom
    assert "opblock" in dom and "/sync/hello" in dom, "Swagger UI did not render the endpoints"
