"""Leftovers of a harness that was killed outright: embedded PostgreSQL servers and their folders.

Every embedded server lives in a temporary folder ``bench-pg-*`` that records its owner (the
harness's PID and start time, ``owner.json``). A server also gets SIGINT (a fast shutdown) from
the kernel when the harness dies (``setpriv --pdeathsig``); but a harness killed with SIGKILL
cannot remove the folder (about 40 MB). ``reap`` — run before each new server starts — finds
the folders whose owner no longer exists, stops any server still running in them (by the PID in
PostgreSQL's own ``postmaster.pid``), and removes them.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import tempfile
from pathlib import Path

import psutil

PREFIX = "bench-pg-"
OWNER_FILE = "owner.json"


def write_owner(folder: Path) -> None:
    """Record that this process owns ``folder``."""
    me = psutil.Process()
    doc = {"pid": me.pid, "started": me.create_time()}
    (folder / OWNER_FILE).write_text(json.dumps(doc), encoding="utf-8")


def _owner_alive(folder: Path) -> bool:
    try:
        doc = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        process = psutil.Process(int(doc["pid"]))
        same = abs(process.create_time() - float(doc["started"])) < 1
        return same and process.status() != psutil.STATUS_ZOMBIE
    except FileNotFoundError:  # being created right now, or not ours: leave it
        return True
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return False


def _stop_server(data: Path, timeout_s: float = 10.0) -> int | None:
    """Stop the postmaster named in ``data/postmaster.pid``, if it is still that server."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        server = psutil.Process(pid)
        if "postgres" not in server.name() and "postgres" not in " ".join(server.cmdline()):
            return None
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
    with contextlib.suppress(psutil.Error):
        server.send_signal(signal.SIGINT)  # fast shutdown: backends end, then the postmaster
        try:
            server.wait(timeout_s)
        except psutil.TimeoutExpired:
            for process in [*server.children(recursive=True), server]:
                with contextlib.suppress(psutil.Error):
                    process.kill()
    return pid


def reap(root: Path | None = None) -> list[str]:
    """Remove the folders (and stop the servers) of harnesses that no longer exist; return what
    was done, one line each."""
    done = []
    for folder in sorted(Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*")):
        if not folder.is_dir() or _owner_alive(folder):
            continue
        stopped = _stop_server(folder / "data")
        shutil.rmtree(folder, ignore_errors=True)
        what = f"stopped PostgreSQL {stopped} and " if stopped else ""
        done.append(f"{what}removed {folder}, left by a harness that no longer exists")
    return done
