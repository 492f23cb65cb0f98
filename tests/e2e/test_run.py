"""End to end: the real CLI starts the app and Locust, writes a run, builds a report that a real
headless Chromium renders; Ctrl-C and a failing app leave no child process behind."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import jsonschema
import psutil
import pytest

from harness import results
from harness.analysis.claims import CLAIMS
from harness.analysis.tables import aggregate, summarize
from harness.report import summary_json
from locustfiles.protocol import SAMPLE_COLUMNS
from tests.e2e.helpers import BENCH, E2E, descendants, gone

pytestmark = E2E

SCENARIO = """
name = "tiny"
description = "e2e: hello and sleep, sync and async"
users = [2, 5]
duration = "2s"
warmup = "1s"
[parameters]
ms = 20
[[endpoints]]
label = "sync sleep"
variant = "sync"
path = "/sync/sleep?ms={ms}"
model = { concurrency = "threadpool", service_ms = "{ms}" }
[[endpoints]]
label = "async sleep"
variant = "async"
path = "/async/sleep?ms={ms}"
model = { concurrency = "users", service_ms = "{ms}" }
"""

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-file-access-from-files",
    "--virtual-time-budget=5000",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium is required in CI (.ci/run installs Debian's chromium)")
    pytest.skip("chromium not installed (apt-get install chromium)")


def test_short_real_run_yields_results_charts_and_a_rendered_report(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "reports"
    proc = subprocess.run(
        [*BENCH, "run", str(scenario), "--out", str(out), "--check", "async sleep: rps >= 1"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "checks: all 2 passed" in proc.stdout  # one verdict per users level
    match = re.search(r"report: (\S+index\.html)", proc.stdout)
    assert match, proc.stdout
    index = Path(match.group(1))
    if not index.is_absolute():
        index = tmp_path / index
    run_dir = index.parent
    assert (out / "latest").resolve() == run_dir.resolve()

    results = json.loads((run_dir / "results.json").read_text())
    assert results["schema"] == 2 and results["status"] == "complete"
    assert results["checks"] == ["async sleep: rps >= 1"]
    # the calibration baseline (2) comes first, then 2 endpoints × 2 users levels
    assert [m["scenario"] for m in results["measurements"]] == ["calibration"] * 2 + ["tiny"] * 4
    assert results["metadata"]["pinning"]["app"] != [] and results["metadata"]["packages"]["locust"]
    for m in results["measurements"]:
        assert m["status"] == "ok", m
        with (run_dir / m["samples"]).open(newline="") as fh:
            samples = list(csv.reader(fh))
        assert tuple(samples[0]) == SAMPLE_COLUMNS
        assert len(samples) > 50
        rows = [dict(zip(SAMPLE_COLUMNS, row, strict=True)) for row in samples[1:]]
        # each request names its endpoint (what a mix's rows are split by) and its user
        assert {row["name"] for row in rows} == {m["endpoint"]}
        assert {int(row["user"]) for row in rows} <= set(range(m["users"]))
        # the open model's columns stay empty in the closed model
        assert {(row["sent"], row["service_ms"]) for row in rows} == {("", "")}
        # the requests in flight when the window ended: [start, endpoint, user] each
        meta = json.loads((run_dir / m["samples"].replace(".csv", ".meta.json")).read_text())
        assert all(
            start <= m["window_end"] and name == m["endpoint"] and 0 <= user < m["users"]
            for start, name, user in meta["in_flight_at_end"]
        )
    pngs = sorted(p.name for p in run_dir.glob("*.png"))
    tiny = [f"{kind}-tiny.png" for kind in ("latency", "rps", "signals", "sweep", "timeline")]
    assert set(tiny) <= set(pngs)
    assert "rps-calibration.png" in pngs
    for png in pngs:
        assert (run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A real browser renders the page: every image decodes, the tables are there.
    probe = run_dir / "probe.html"
    probe.write_text(
        index.read_text().replace(
            "</body>",
            "<script>window.onload = () => { const imgs = [...document.images];"
            " document.title = 'images ' + imgs.filter(i => i.complete && i.naturalWidth > 0)"
            ".length + '/' + imgs.length + ' tables ' + document.querySelectorAll("
            "'table.numbers tr').length + ' claims ' + document.querySelectorAll("
            "'table.claims tr').length; };</script></body>",
        )
    )
    dom = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'chrome'}",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    title = re.search(r"<title>(.*?)</title>", dom.stdout)
    assert title, dom.stderr[-1000:]
    # every PNG decodes in the page; 2 tables (calibration: header + 2 rows; tiny: header + 4
    # rows); the claims table has a header and one row per claim
    n, claims = len(pngs), len(CLAIMS) + 1
    assert title.group(1) == f"images {n}/{n} tables 8 claims {claims}", title.group(1)
    assert "sync sleep" in dom.stdout and "async sleep" in dom.stdout
    assert "X = C / L" in dom.stdout and "the users are the cap" in dom.stdout
    assert (run_dir / "summary.md").read_text().startswith("## sync vs async")
    # the machine-readable summary beside it, valid against its schema
    summary = json.loads((run_dir / "summary.json").read_text())
    jsonschema.validate(summary, summary_json.schema(), cls=jsonschema.Draft202012Validator)
    assert summary["run_id"] == run_dir.name and summary["status"] == "complete"
    assert [m["scenario"] for m in summary["measurements"]] == ["calibration"] * 2 + ["tiny"] * 4


def test_ctrl_c_stops_every_child_and_keeps_the_partial_run(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    bench = subprocess.Popen(
        [
            *BENCH,
            "run",
            "sleep",
            "--users",
            "5",
            "--duration",
            "60s",
            "--warmup",
            "1s",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        children: list[psutil.Process] = []
        while time.monotonic() < deadline:
            children = descendants(bench.pid)
            if any("locust" in " ".join(c.cmdline()) for c in children if c.is_running()):
                break
            time.sleep(0.2)
        else:
            pytest.fail("Locust never started")
        time.sleep(1.0)
        children = descendants(bench.pid)
        assert len(children) >= 2  # the app and Locust at least
        bench.send_signal(signal.SIGINT)
        _, stderr = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            bench.kill()
    assert bench.returncode == 130
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert "interrupted" in lines[-1] and "Traceback" not in stderr
    time.sleep(0.5)
    assert gone(children) == [], "children survived Ctrl-C"
    run_dirs = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(run_dirs) == 1
    results = json.loads((run_dirs[0] / "results.json").read_text())
    assert results["status"] == "incomplete"


def test_app_that_fails_to_start_gives_its_last_log_line(tmp_path: Path) -> None:
    env = {**os.environ, "BENCH_LOOP_LAG_INTERVAL_MS": "-5"}  # rejected by the app's settings
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    proc = subprocess.run(
        [*BENCH, "run", "sleep", "--users", "1", "--duration", "1s", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: the app failed to start")
    assert "loop_lag_interval_ms" in lines[0]
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after <= before
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())
    assert json.loads((run_dir / "results.json").read_text())["status"] == "failed"


FAULTS = """
name = "faults"
description = "e2e: upstream errors and requests slower than the client timeout"
services = ["upstream"]
users = [4]
duration = "2s"
warmup = "1s"
[[endpoints]]
label = "flaky upstream"
variant = "async"
path = "/async/http/aiohttp?latency_ms=10"
model = { concurrency = "users", service_ms = "10" }
[[endpoints]]
label = "slow upstream"
variant = "async"
path = "/async/http/aiohttp?latency_ms=2000"
model = { concurrency = "users", service_ms = "2000" }
"""


def test_upstream_errors_and_timeouts_are_counted_not_dropped(tmp_path: Path) -> None:
    scenario = tmp_path / "faults.toml"
    scenario.write_text(FAULTS)
    env = {**os.environ, "BENCH_UPSTREAM_ERROR_RATE": "0.3"}  # read by the upstream stand-in
    proc = subprocess.run(
        [
            *BENCH,
            "run",
            str(scenario),
            "--out",
            str(tmp_path / "r"),
            "--no-calibrate",
            "--timeout",
            "500ms",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = next(p for p in (tmp_path / "r").iterdir() if p.is_dir() and not p.is_symlink())

    table = aggregate(summarize(run_dir, results.load(run_dir))).set_index("endpoint")
    flaky, slow = table.loc["flaky upstream"], table.loc["slow upstream"]
    assert flaky["rps"] > 0
    assert 0.1 < flaky["error_rate"] < 0.6, "about 30 % of upstream calls fail → 502s"
    assert slow["timeouts"] > 0 and slow["rps"] == 0, "every request hit the 0.5 s timeout"
    html = (run_dir / "index.html").read_text()
    assert "errors (" in html and "timeouts" in html


def test_sqlite_run_says_why_aiosqlite_differs(tmp_path: Path) -> None:
    """`--database sqlite` needs no server; the report says plainly that aiosqlite runs each
    connection on a thread, and every child is gone afterwards."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    proc = subprocess.run(
        [
            *BENCH,
            "run",
            "database",
            "--database",
            "sqlite",
            "--users",
            "4",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--no-calibrate",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())
    results = json.loads((run_dir / "results.json").read_text())
    assert results["scenarios"][0]["dependencies"]["database"]["kind"] == "sqlite"
    assert all(m["status"] == "ok" for m in results["measurements"])
    html = (run_dir / "index.html").read_text()
    assert "aiosqlite runs each connection on its own thread" in html
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


OPEN = """
name = "open"
description = "e2e: the open model, 50 requests/s on a schedule"
rates = [50]
duration = "2s"
warmup = "1s"
[[endpoints]]
label = "async sleep"
variant = "async"
path = "/async/sleep?ms=10"
model = { concurrency = "users", service_ms = "10" }
"""


def test_open_model_sends_on_schedule_and_measures_from_the_intended_time(tmp_path: Path) -> None:
    scenario = tmp_path / "open.toml"
    scenario.write_text(OPEN)
    out = tmp_path / "r"
    proc = subprocess.run(
        [*BENCH, "run", str(scenario), "--out", str(out), "--no-calibrate"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "offered" in proc.stdout and "steady" in proc.stdout, proc.stdout
    run_dir = next(p for p in out.iterdir() if p.is_dir() and not p.is_symlink())
    (m,) = json.loads((run_dir / "results.json").read_text())["measurements"]
    assert m["rate"] == 50.0 and m["id"] == "open--async-sleep--rate50--r0" and m["status"] == "ok"
    assert m["dropped"] == 0

    with (run_dir / m["samples"]).open(newline="") as fh:
        reader = csv.reader(fh)
        assert tuple(next(reader)) == SAMPLE_COLUMNS
        rows = [dict(zip(SAMPLE_COLUMNS, row, strict=True)) for row in reader]
    intended = sorted(float(r["start"]) for r in rows)
    gaps = [b - a for a, b in zip(intended, intended[1:], strict=False)]
    # on a schedule of 1 / 50 s, exactly (a request still in flight at the end leaves a hole)
    assert all(g > 0 and abs(g / 0.02 - round(g / 0.02)) < 1e-3 for g in gaps)
    for r in rows:
        # latency from the intended send, never below the service time from the actual send
        assert float(r["sent"]) >= float(r["start"]) - 0.002
        assert float(r["elapsed_ms"]) >= float(r["service_ms"]) - 1e-6
        assert float(r["service_ms"]) >= 9.0  # asyncio.sleep(0.01) may wake a hair early

    table = aggregate(summarize(run_dir, results.load(run_dir))).set_index("endpoint")
    row = table.loc["async sleep"]
    assert row["rate"] == 50.0 and row["rps"] == pytest.approx(50.0, rel=0.10)
    assert row["service_p50_ms"] <= row["p50_ms"] and not row["overloaded"]
    assert (run_dir / "load-open.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((run_dir / "summary.json").read_text())
    jsonschema.validate(summary, summary_json.schema(), cls=jsonschema.Draft202012Validator)
    (record,) = summary["measurements"]
    assert record["rate"]["offered"] == 50.0 and record["rate"]["overloaded"] is False
