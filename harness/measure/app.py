"""The app under test, served by uvicorn (one worker) on 127.0.0.1 the way a benchmark needs it.

No access log (a log line per request costs the app about a third of its throughput on the
fast endpoints), warnings only, the factory ``target_app.main:app_from_env`` reading its
settings from ``BENCH_*`` variables. ``bench serve`` uses the same ``uvicorn_options``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.errors import BenchError
from harness.measure.processes import (
    HOST,
    Children,
    ManagedProcess,
    ensure_port_free,
    free_port,
    wait_ready,
)

APP_FACTORY = "target_app.main:app_from_env"


@dataclass
class App:
    process: ManagedProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def uvicorn_options(
    port: int, *, access_log: bool = False, log_level: str = "warning"
) -> dict[str, Any]:
    """How the harness serves the app (``uvicorn.run`` keywords): one worker, no access log."""
    return {
        "factory": True,
        "host": HOST,
        "port": port,
        "workers": 1,
        "log_level": log_level,
        "access_log": access_log,
    }


def uvicorn_argv(port: int) -> list[str]:
    """The same as a command line, for the pinned child process."""
    options = uvicorn_options(port)
    return [
        sys.executable,
        "-m",
        "uvicorn",
        APP_FACTORY,
        "--factory",
        "--host",
        options["host"],
        "--port",
        str(port),
        "--workers",
        str(options["workers"]),
        "--log-level",
        options["log_level"],
        "--no-access-log",
        # on SIGTERM (the harness died) close within seconds even if clients keep connections
        "--timeout-graceful-shutdown",
        "3",
    ]


def start_app(
    children: Children,
    *,
    settings_env: Mapping[str, str],
    log_path: Path,
    cpus: Sequence[int],
    port: int = 0,
    ready_timeout_s: float = 30.0,
) -> tuple[App, dict[str, Any]]:
    """Start uvicorn with ``create_app`` from ``BENCH_*`` settings; wait for ``/_bench/info``."""
    if port:
        ensure_port_free(port)
    else:
        port = free_port()
    env = {**os.environ, **settings_env, "PYTHONUNBUFFERED": "1"}
    child = children.spawn("app", uvicorn_argv(port), log_path=log_path, cpus=cpus, env=env)
    app = App(child, port)
    info = wait_ready(child, f"{app.url}/_bench/info", ready_timeout_s, "the app")
    children.watch(child)  # from now on, the app exiting stops the run
    return app, info


def check_endpoints(app: App, paths: Sequence[str], timeout_s: float) -> None:
    """Request every endpoint before any load: a 4xx (a wrong path, a bad parameter) stops
    the run with one line, and so does a 5xx three times in a row, instead of a measurement at
    100 % errors. An endpoint slower than the timeout is left to the measurement, which counts
    its timeouts."""
    with httpx.Client(timeout=timeout_s) as client:
        for path in paths:
            _check_endpoint(client, app.url, path)


def _check_endpoint(client: httpx.Client, url: str, path: str, attempts: int = 3) -> None:
    response: httpx.Response | None = None
    for _ in range(attempts):
        try:
            response = client.get(f"{url}{path}")
        except httpx.TimeoutException:
            return
        except httpx.HTTPError as exc:
            raise BenchError(f"{path} did not answer before the load: {exc}") from None
        if response.is_success or not response.is_server_error:
            break
    assert response is not None
    if not response.is_success:
        detail = " ".join(response.text.split())[:200]
        raise BenchError(
            f"{path} answered {response.status_code} {response.reason_phrase} ({detail}): "
            "fix the scenario's path or parameters before measuring"
        )
