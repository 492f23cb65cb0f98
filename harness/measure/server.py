"""How the app is served: the command line of each server shape, and its workers' signals.

One shape (``scenarios/shape.py``) becomes one command: ``uvicorn`` (its own supervisor when
there are several workers) or ``gunicorn`` with uvicorn workers (``target_app/gunicorn_workers``
picks the loop and HTTP parser), always on 127.0.0.1, no access log, warnings only. With several
workers, each serves its signals on a Unix socket in a private folder
(``target_app/worker_socket.py``): ``Workers`` waits until every worker is up and reads them all.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.errors import BenchError
from harness.measure.processes import HOST
from scenarios.shape import ServerShape
from target_app.worker_socket import SOCKETS_ENV, merge, read_all, sockets

GRACEFUL_S = "3"  # on SIGTERM (the harness died) close within seconds even if clients stay


def argv(port: int, factory: str, shape: ServerShape) -> list[str]:
    """The server's command line for ``factory`` (``module:function`` returning the app)."""
    if shape.server == "gunicorn":
        return gunicorn_argv(port, factory, shape)
    return uvicorn_argv(port, factory, shape)


def uvicorn_argv(port: int, factory: str, shape: ServerShape) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(shape.workers),
        "--loop",
        shape.loop,
        "--http",
        shape.http,
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        GRACEFUL_S,
    ]


def gunicorn_argv(port: int, factory: str, shape: ServerShape) -> list[str]:
    """gunicorn calls ``factory()`` itself (``module:function()``); no access log unless asked."""
    worker = f"target_app.gunicorn_workers.{worker_class(shape.loop, shape.http)}"
    return [
        sys.executable,
        "-m",
        "gunicorn",
        f"{factory}()",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(shape.workers),
        "--worker-class",
        worker,
        "--log-level",
        "warning",
        "--graceful-timeout",
        GRACEFUL_S,
    ]


def worker_class(loop: str, http: str) -> str:
    """The name of the gunicorn worker class for this loop and parser (one per combination)."""
    return f"Uvicorn_{loop}_{http}"


class Workers:
    """The socket folder of a several-worker app: ``env`` for the app, ``wait`` until all are
    up, ``read`` the merged snapshot. With one worker it does nothing (``active`` is False)."""

    def __init__(self, shape: ServerShape) -> None:
        self.count = shape.workers
        self.folder: Path | None = None
        if self.count > 1:  # /tmp: a Unix socket's path must stay under 108 bytes
            self.folder = Path(tempfile.mkdtemp(prefix="bench-workers-"))

    @property
    def active(self) -> bool:
        return self.folder is not None

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def env(self) -> dict[str, str]:
        return {SOCKETS_ENV: str(self.folder)} if self.folder is not None else {}

    def wait(self, alive: Callable[[], bool], timeout_s: float = 30.0) -> None:
        """Until every worker answers on its socket (each built its app and started)."""
        if self.folder is None:
            return
        deadline = time.monotonic() + timeout_s
        answered = 0
        while time.monotonic() < deadline and alive():
            answered = len(read_all(self.folder, timeout_s=2.0))
            if answered >= self.count:
                return
            time.sleep(0.1)
        raise BenchError(
            f"only {answered} of {self.count} app workers started within {timeout_s:.0f}s "
            "(see the app's log in the run folder's logs/)"
        )

    def read(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """Every worker's snapshot merged into one (raises ValueError if none answered)."""
        assert self.folder is not None, "one worker: read /_bench/metrics"
        return merge(read_all(self.folder, timeout_s))

    def pids(self) -> list[int]:
        if self.folder is None:
            return []
        return [int(p.stem) for p in sockets(self.folder) if p.stem.isdigit()]
