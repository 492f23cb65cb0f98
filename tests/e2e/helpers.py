"""What the end-to-end tests share: how to start the harness as a user would (``BENCH``), the
marker, and process helpers (a harness's descendants, and which still live)."""

from __future__ import annotations

import contextlib
import sys
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
