"""Server shapes end to end: the blocking pitfall served by 2 uvicorn workers holds 2 requests at
a time (twice one worker's ceiling, as the capacity model says); gunicorn with uvicorn workers
serves a measurement whose client count agrees with the workers' merged count; a killed harness
leaves no worker process behind."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from harness.analysis.analyze import analyze
from tests.e2e.helpers import BENCH, E2E, assert_all_gone, command, descendants

pytestmark = E2E

PITFALL = """
name = "pitfall2"
description = "e2e: time.sleep inside async def, two workers"
users = [20]
duration = "3s"
warmup = "1s"
[server]
workers = 2
[[endpoints]]
label = "pitfall sleep"
variant = "pitfall"
path = "/pitfall/sleep?ms=100"
model = { concurrency = "serial", service_ms = "100" }
"""

HELLO = """
name = "hello"
description = "e2e: async hello under gunicorn"
users = [10]
duration = "2s"
warmup = "1s"
[server]
server = "gunicorn"
workers = 2
loop = "asyncio"
http = "h11"
[[endpoints]]
label = "async hello"
variant = "async"
path = "/async/hello"
model = { concurrency = "users", service_ms = "0" }
"""


def _run(tmp_path: Path, scenario: str, *extra: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(scenario)
    argv = [*BENCH, "run", str(path), "--no-calibrate", "--no-report", "--out", str(tmp_path)]
    done = subprocess.run(
        [*argv, *extra], capture_output=True, text=True, timeout=180, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return next(p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())


def _workers_seen(run_dir: Path, measurement_id: str) -> set[int]:
    doc = json.loads((run_dir / "metrics" / f"{measurement_id}.json").read_text())
    return {w["pid"] for snap in doc["series"] for w in snap.get("workers", [])}


def test_two_workers_double_the_blocked_loops_ceiling(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, PITFALL)
    analysis = analyze(run_dir)
    (row,) = analysis.table.itertuples()
    assert row.predicted_rps == pytest.approx(20.0, rel=0.02)
    assert "× 2 workers" in row.binding
    assert 0.7 <= row.rps / row.predicted_rps <= 1.1, (row.rps, row.binding)
    (record,) = analysis.run.scenarios
    assert record["server"]["workers"] == 2
    assert len(_workers_seen(run_dir, analysis.run.measurements[0].id)) == 2
    assert not [d for d in analysis.disturbed if any(r.rule == "count" for r in d.reasons)]


def test_gunicorn_serves_with_uvicorn_workers_and_the_counts_agree(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, HELLO)
    analysis = analyze(run_dir)
    (row,) = analysis.table.itertuples()
    assert row.rps > 0 and row.errors == 0
    (record,) = analysis.run.scenarios
    assert (record["server"]["server"], record["server"]["loop"]) == ("gunicorn", "asyncio")
    assert len(_workers_seen(run_dir, analysis.run.measurements[0].id)) == 2
    assert not [d for d in analysis.disturbed if any(r.rule == "count" for r in d.reasons)]
    assert "gunicorn" in analysis.run.metadata["server"]


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn"])
def test_a_killed_harness_leaves_no_worker_behind(tmp_path: Path, server: str) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(HELLO.replace('duration = "2s"', 'duration = "60s"'))
    argv = [*BENCH, "run", str(path), "--no-calibrate", "--out", str(tmp_path / "out")]
    bench = subprocess.Popen(
        [*argv, "--server", server],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        children = []
        while time.monotonic() < deadline:  # the app's workers and Locust are all up
            children = descendants(bench.pid)
            if any("locust" in " ".join(command(c)) for c in children) and len(children) >= 4:
                break
            time.sleep(0.2)
        assert len(children) >= 4, [command(c) for c in children]
        bench.kill()
        bench.wait(10)
    finally:
        if bench.poll() is None:
            bench.kill()
    assert_all_gone(children)
