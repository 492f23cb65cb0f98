"""Trust under faults, end to end: secrets never written, a dead child stops the run, a killed
harness leaves nothing behind (issue: trust under faults)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = [sys.executable, str(ROOT / "bench.py")]
SECRET = "hunter2"

pytestmark = pytest.mark.e2e

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
