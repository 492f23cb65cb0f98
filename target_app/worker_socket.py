"""Each worker's signals when the app runs as several worker processes.

``GET /_bench/metrics`` lands on whichever worker accepts the connection, so with ``--workers N``
it would describe one worker in N. Instead, when ``BENCH_WORKER_SOCKETS`` names a folder, every
worker also serves its own snapshot on a Unix socket ``<folder>/<pid>.sock`` (on its event loop,
exactly like the HTTP route: a blocked loop delays the answer, which is itself a symptom). The
harness reads every worker's snapshot at once (``read_all``) and ``merge``s them into one
snapshot with the same keys, plus ``workers``: each worker's own figures.

How the merge reads each signal (the report says which):

- sums: requests (total and in flight), CPU seconds, RSS, threads, every gauge (thread-pool
  tokens in use and in total, DB connections checked out: each worker has its own pools);
- worst: event-loop lag (a request lands on one worker: the worst loop is what its clients feel);
- the watchdog's blocked time: summed per route and frame (each worker blocks its own loop).

The protocol is one line in, one JSON document out, then the connection closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

SOCKETS_ENV = "BENCH_WORKER_SOCKETS"
REQUEST = b"metrics\n"
SUFFIX = ".sock"
SUMMED = ("cpu_s", "rss_bytes", "threads", "requests_total", "loop_ticks_total")


class WorkerSocket:
    """The app side: serve ``snapshot()`` on ``<folder>/<pid>.sock`` while the loop runs."""

    def __init__(self, folder: str, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.path = Path(folder) / f"{os.getpid()}{SUFFIX}"
        self.snapshot = snapshot
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a previous process with this pid (pids are reused)
        self._server = await asyncio.start_unix_server(self._answer, path=str(self.path))

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readline()
            writer.write(json.dumps(self.snapshot()).encode())
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def sockets(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{SUFFIX}"))


def read_one(path: Path, timeout_s: float) -> dict[str, Any]:
    """One worker's snapshot (raises OSError or ValueError when it does not answer)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        sock.sendall(REQUEST)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    doc = json.loads(b"".join(chunks))
    if not isinstance(doc, dict):
        raise ValueError(f"{path.name}: not a snapshot")
    return doc


def read_all(folder: Path, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """Every live worker's snapshot, all asked at once (a worker whose loop is blocked answers
    late without delaying the others); the socket of a worker that is gone is removed."""
    paths = sockets(folder)
    if not paths:
        return []
    with ThreadPoolExecutor(max_workers=len(paths), thread_name_prefix="worker-socket") as pool:
        answers = list(pool.map(lambda path: _try(path, timeout_s), paths))
    return [doc for doc in answers if doc is not None]


def _try(path: Path, timeout_s: float) -> dict[str, Any] | None:
    try:
        return read_one(path, timeout_s)
    except ConnectionRefusedError:
        with contextlib.suppress(OSError):
            path.unlink()
    except (OSError, ValueError):
        pass
    return None


def merge(snapshots: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One snapshot of the whole app from its workers' (see the module's docstring)."""
    snaps = sorted(snapshots, key=lambda s: int(s.get("pid", 0)))
    if not snaps:
        raise ValueError("no worker answered")
    merged: dict[str, Any] = {
        "t": max(float(s["t"]) for s in snaps),
        "pid": [int(s.get("pid", 0)) for s in snaps],
        **{key: sum(float(s.get(key, 0) or 0) for s in snaps) for key in SUMMED},
        "loop_lag_ms_max_total": max(float(s.get("loop_lag_ms_max_total", 0)) for s in snaps),
        "inflight": _summed_window([s.get("inflight", {}) for s in snaps]),
        "loop_lag_ms": _worst_window([s.get("loop_lag_ms", {}) for s in snaps]),
        "gauges": _gauges(snaps),
        "blocked": _blocked([s.get("blocked") for s in snaps]),
        "workers": [_brief(s) for s in snaps],
    }
    merged["requests_total"] = int(merged["requests_total"])
    return merged


def _summed_window(windows: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for w in windows for k in w}
    return {k: sum(float(w.get(k, 0.0)) for w in windows) for k in keys}


def _worst_window(windows: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for w in windows for k in w}
    return {k: max(float(w.get(k, 0.0)) for w in windows) for k in keys}


def _gauges(snaps: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    names = {name for s in snaps for name in s.get("gauges", {})}
    return {
        name: _summed_window([s.get("gauges", {}).get(name, {}) for s in snaps])
        for name in sorted(names)
    }


def _blocked(docs: list[Any]) -> dict[str, Any] | None:
    present = [d for d in docs if isinstance(d, dict)]
    if not present:
        return None
    routes: dict[str, dict[str, Any]] = {}
    for doc in present:
        for route in doc.get("routes", []):
            into = routes.setdefault(
                route["route"],
                {"route": route["route"], "seconds": 0.0, "samples": 0, "frames": {}},
            )
            into["seconds"] += float(route["seconds"])
            into["samples"] += int(route.get("samples", 0))
            for frame in route.get("frames", []):
                known = into["frames"].setdefault(frame["frame"], {**frame, "seconds": 0.0})
                known["seconds"] += float(frame["seconds"])
    return {
        "threshold_ms": max(float(d.get("threshold_ms", 0)) for d in present),
        "total_s": sum(float(d.get("total_s", 0)) for d in present),
        "cpu_s": sum(float(d.get("cpu_s", 0)) for d in present),
        "errors": sum(int(d.get("errors", 0)) for d in present),
        "routes": [{**r, "frames": list(r["frames"].values())} for r in routes.values()],
    }


def _brief(snap: dict[str, Any]) -> dict[str, Any]:
    """What the report shows per worker: its share of the requests, its loop, CPU and memory."""
    gauges = snap.get("gauges", {})
    return {
        "t": float(snap.get("t", 0.0)),  # each worker answers when its own loop gets to it
        "pid": int(snap.get("pid", 0)),
        "requests_total": int(snap.get("requests_total", 0)),
        "inflight_now": float(snap.get("inflight", {}).get("now", 0.0)),
        "loop_lag_max_ms": float(snap.get("loop_lag_ms", {}).get("max", 0.0)),
        "cpu_s": float(snap.get("cpu_s", 0.0)),
        "rss_bytes": float(snap.get("rss_bytes", 0.0)),
        "threadpool_busy_max": float(gauges.get("threadpool_borrowed", {}).get("max", 0.0)),
    }
