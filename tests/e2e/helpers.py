"""What the end-to-end tests share: how to start the harness as a user would (``BENCH``), the
marker, and process helpers (a harness's descendants, and which still live)."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = [sys.executable, str(ROOT / "bench.py")]
E2E = pytest.mark.e2e


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def gone(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The processes of ``processes`` still alive (despite the name: what has *not* gone)."""
    alive = []
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
    return alive


def assert_all_gone(processes: list[psutil.Process], timeout_s: float = 30.0) -> None:
    """Every one of ``processes`` exits within ``timeout_s`` (after a harness was killed)."""
    deadline = time.monotonic() + timeout_s
    while gone(processes) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = gone(processes)
    assert left == [], f"outlived the killed harness: {[_cmdline(p) for p in left]}"


def _cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())[:300]
    except psutil.Error as exc:
        return repr(exc)


def command(process: psutil.Process) -> list[str]:
    """A process's command line, [] once it has gone (a zombie reads as empty too)."""
    try:
        return list(process.cmdline())
    except psutil.Error:
        return []
