"""End to end on an OS without CPU affinity nor PR_SET_PDEATHSIG (macOS), simulated on Linux by
``BENCH_SIMULATE_NO_AFFINITY=1`` (read by ``harness/affinity.py`` in the harness and in every
launcher): a real short run completes unpinned and says so, its children are watched by the
launchers rather than exec'd, and a killed harness leaves no child behind."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness import affinity
from tests.e2e.helpers import BENCH, E2E, assert_all_gone, command, descendants, gone

pytestmark = E2E

SIMULATED = {**os.environ, affinity.SIMULATE_ENV: "1"}
LOCKED = "another bench run is measuring on this machine"
TINY = ["--users", "5", "--duration", "1s", "--warmup", "0.5s", "--no-calibrate"]
SLOW = """
name = "slow"
description = "e2e: one long measurement, to be killed"
users = [3]
duration = "60s"
warmup = "0s"
[[endpoints]]
label = "async sleep"
variant = "async"
path = "/async/sleep?ms=10"
model = { concurrency = "users", service_ms = "10" }
"""


def _bench(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """``bench run`` unpinned, once its run folder exists. Another run measuring here holds the
    machine (its figures must not be disturbed): wait for it, two minutes at most."""
    out = tmp_path / "out"
    argv = [*BENCH, "run", *args, "--out", str(out)]
    deadline = time.monotonic() + 120
    while True:
        bench = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=SIMULATED,
        )
        while bench.poll() is None:
            if out.is_dir() and any((d / "results.json").is_file() for d in out.iterdir()):
                return bench
            time.sleep(0.05)
        _, stderr = bench.communicate()
        if LOCKED not in stderr:
            raise AssertionError(f"bench run ended before its run folder: {stderr[-2000:]}")
        if time.monotonic() > deadline:
            pytest.skip(f"the machine stayed busy with another run: {stderr.strip()}")
        time.sleep(2.0)


def _cmdline(process: psutil.Process) -> str:
    return " ".join(command(process))


def _run_dir(tmp_path: Path) -> Path:
    return next(p for p in (tmp_path / "out").iterdir() if p.is_dir() and not p.is_symlink())


def _watch_family(bench: subprocess.Popen[str], until: str, timeout_s: float) -> dict[int, Any]:
    """Every descendant of ``bench`` seen until one's command line holds ``until`` (or bench
    ends), by PID, with its command line and CPU affinity."""
    seen: dict[int, Any] = {}
    deadline = time.monotonic() + timeout_s
    while bench.poll() is None and time.monotonic() < deadline:
        for child in descendants(bench.pid):
            # the latest command line: a child caught between its fork and its exec still
            # shows its parent's; an empty one is a child already gone (keep what was seen)
            with contextlib.suppress(psutil.Error):
                if line := _cmdline(child):
                    seen[child.pid] = (child, line, child.cpu_affinity())
        if until and any(until in line for _, line, _ in seen.values()):
            break
        time.sleep(0.1)
    return seen


def test_a_run_without_affinity_completes_unpinned_and_says_so(tmp_path: Path) -> None:
    bench = _bench(tmp_path, "baseline", *TINY)
    try:
        family = _watch_family(bench, "", 240)
        stdout, stderr = bench.communicate(timeout=240)
    finally:
        if bench.poll() is None:
            bench.kill()
    assert bench.returncode == 0, stderr[-2000:]
    run_dir = _run_dir(tmp_path)
    doc = json.loads((run_dir / "results.json").read_text())
    assert doc["status"] == "complete" and len(doc["measurements"]) == 2
    plan = doc["metadata"]["pinning"]
    assert plan["pinned"] is False
    assert plan["note"].startswith("not pinned: load generator and app share cores")
    every = sorted(range(os.cpu_count() or 1))
    assert plan["app"] == plan["loadgen"] == every
    # the launchers watched their commands (an exec'd launcher would be the command itself)
    launchers = [line for _, line, _ in family.values() if "harness.measure.launch" in line]
    assert launchers, "no launcher stayed to watch its command"
    assert not any("--cpus" in line for line in launchers), "nothing was pinned"
    app = [cpus for _, line, cpus in family.values() if "uvicorn" in line and "launch" not in line]
    assert app and all(sorted(cpus) == every for cpus in app)
    # flagged everywhere a reader looks
    flag = "not pinned: load generator and app share cores"
    assert f"⚠ {flag}" in stdout
    assert flag in (run_dir / "summary.md").read_text()
    assert flag in (run_dir / "index.html").read_text()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert any(w.startswith(flag) for w in summary["warnings"])
    left = gone([process for process, _, _ in family.values()])
    assert left == [], f"children outlived the run: {[_cmdline(p) for p in left]}"


def test_a_killed_harness_without_the_kernel_signal_leaves_no_child(tmp_path: Path) -> None:
    """SIGKILL of bench itself, no PR_SET_PDEATHSIG: each launcher notices its parent has gone
    and stops its command; nothing is left."""
    (tmp_path / "slow.toml").write_text(SLOW)
    bench = _bench(tmp_path, str(tmp_path / "slow.toml"), "--no-calibrate")
    try:
        family = _watch_family(bench, "locust", 120)
        assert any("locust" in line for _, line, _ in family.values()), "locust never started"
        children = descendants(bench.pid)
        assert any("harness.measure.launch" in _cmdline(p) for p in children)
        assert len(children) >= 4  # app and Locust, each under a watching launcher
        bench.kill()
        bench.communicate(timeout=10)
    finally:
        if bench.poll() is None:
            bench.kill()
    assert_all_gone(children)
