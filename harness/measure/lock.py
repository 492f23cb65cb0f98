"""One run per machine at a time: two runs would pin their apps to the same core, their load
generators to the same other core, and each would report about half of its real throughput.

``machine_lock`` takes an exclusive ``flock`` on a file in the temporary folder (released by the
kernel when the harness exits, however it exits) and writes who holds it. A second run is
refused with one line naming the first run's PID and folder, unless ``allow_concurrent``: then
it goes on, and both runs record the other (the first through ``concurrent-runs.json`` in its
folder), so both reports flag the disturbance.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.files import write_atomic
from harness.results import CONCURRENT_FILE

LOCK_FILE = "bench-run.lock"


def lock_path() -> Path:
    return Path(os.environ.get("BENCH_LOCK_DIR") or tempfile.gettempdir()) / LOCK_FILE


def _holder(handle: Any) -> dict[str, Any]:
    handle.seek(0)
    try:
        found: dict[str, Any] = json.loads(handle.read() or "{}")
        return found
    except json.JSONDecodeError:
        return {}


class Holding:
    """This run's place on the machine: ``mark`` it with the run folder once it exists."""

    def __init__(self, handle: Any, other: dict[str, Any] | None) -> None:
        self.handle, self.other = handle, other

    def mark(self, run_dir: Path) -> None:
        if self.other is not None:  # beside another run: tell it
            _tell(self.other, run_dir)
            return
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(json.dumps({"pid": os.getpid(), "run_dir": str(run_dir.resolve())}))
        self.handle.flush()


@contextlib.contextmanager
def machine_lock(allow_concurrent: bool) -> Iterator[Holding]:
    """Hold the machine for one run; ``Holding.other`` is the run this one started beside
    (only with ``allow_concurrent``), else None."""
    path = lock_path()
    try:
        handle = open(path, "a+", encoding="utf-8")  # closed by the with below, after the run
    except OSError as exc:
        raise BenchError(
            f"cannot open the machine lock {path} ({exc.strerror or exc}): set BENCH_LOCK_DIR "
            "to a folder you can write"
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _holder(handle)
            if not allow_concurrent:
                raise BenchError(
                    f"another bench run is measuring on this machine (PID {other.get('pid', '?')}"
                    f", {other.get('run_dir', '?')}): two runs share the pinned cores and "
                    "both measure half; wait for it, or pass --allow-concurrent (both reports "
                    "are then flagged)"
                ) from None
            yield Holding(handle, other)
            return
        try:
            yield Holding(handle, None)
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tell(other: dict[str, Any], run_dir: Path) -> None:
    """Leave a note in the other run's folder: this run measured beside it."""
    folder = Path(str(other.get("run_dir", "")))
    if not other.get("run_dir") or not folder.is_dir():
        return
    note = folder / CONCURRENT_FILE
    with contextlib.suppress(OSError, json.JSONDecodeError):
        known = json.loads(note.read_text(encoding="utf-8")) if note.exists() else []
        known.append({"pid": os.getpid(), "run_dir": str(run_dir.resolve())})
        write_atomic(note, json.dumps(known, indent=1))
