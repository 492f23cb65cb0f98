"""What serves a scenario, and the checks before any load.

Three sources (``Source``): the bundled app, a user's ASGI app (``--app module:attr``, wrapped
unchanged by ``target_app/foreign.py``), both served on 127.0.0.1 in the scenario's server shape
(``harness/measure/server.py``: uvicorn or gunicorn, workers, event loop, HTTP parser); or a
server already running (``--target URL``), of which nothing is started. No access log (a log
line per request costs the app about a third of its throughput on the fast endpoints), warnings
only. ``bench serve`` uses ``uvicorn_options`` (one worker).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect as ws_connect

from harness.errors import BenchError
from harness.measure import server
from harness.measure.processes import (
    HOST,
    Children,
    ManagedProcess,
    ensure_port_free,
    free_port,
    wait_ready,
)
from harness.measure.server import Workers
from scenarios.endpoint import WEBSOCKET
from scenarios.model import Endpoint, Scenario
from scenarios.shape import ServerShape
from target_app.foreign import LOAD_ERROR_PREFIX, AppSpec
from target_app.instrumentation import INFO_PATH, METRICS_PATH

APP_FACTORY = "target_app.main:app_from_env"
FOREIGN_FACTORY = "target_app.foreign:instrumented_from_env"


@dataclass(frozen=True)
class Source:
    """What serves a scenario: the bundled app, a user's app, or a running server."""

    app: str = ""  # module:attr of a user's ASGI app
    factory: bool = False
    app_dir: str = ""
    target: str = ""  # base URL of a server already running
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "target" if self.target else "app" if self.app else "bundled"

    def spec(self) -> AppSpec:
        return AppSpec(self.app, self.factory, self.app_dir)

    def over(self, scenario: Scenario) -> Source:
        """This source (given on the command line) if it names one, else the scenario's own."""
        if self.app or self.target:
            return replace(self, env={**scenario.env, **self.env})
        return Source(
            scenario.app,
            scenario.factory,
            scenario.app_dir,
            scenario.target,
            {**scenario.env, **self.env},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "app": self.app,
            "factory": self.factory,
            "app_dir": self.app_dir,
            "target": self.target,
            "env": sorted(self.env),  # names only: values may be secrets
        }


@dataclass
class App:
    """A server under load: its URL, its process (None for a target) and whether it serves the
    instrumentation's ``/_bench/metrics``."""

    process: ManagedProcess | None
    port: int
    base_url: str = ""
    metrics: bool = True
    workers: Workers | None = None  # several worker processes: signals read from each

    def read_metrics(self, client: httpx.Client) -> dict[str, Any]:
        """The app's signals now: ``/_bench/metrics``, or every worker's merged."""
        if self.workers is not None and self.workers.active:
            return self.workers.read(client.timeout.read or 10.0)
        doc: dict[str, Any] = client.get(f"{self.url}{METRICS_PATH}").json()
        return doc

    @property
    def url(self) -> str:
        return self.base_url or f"http://{HOST}:{self.port}"


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


@dataclass(frozen=True)
class Launch:
    """Where and how to start the app process."""

    settings_env: Mapping[str, str]
    log_path: Path
    cpus: Sequence[int]
    port: int = 0
    ready_timeout_s: float = 30.0
    shape: ServerShape = field(default_factory=ServerShape)
    workers: Workers | None = None  # several workers: their sockets (harness/measure/server.py)


def start_app(children: Children, source: Source, launch: Launch) -> tuple[App, dict[str, Any]]:
    """Serve the bundled app or a user's (``--app``) with uvicorn and wait for
    ``/_bench/info``; or, for a ``--target``, check that it answers. Returns the app and what
    its ``/_bench/info`` said."""
    if source.kind == "target":
        return connect_target(source.target)
    if launch.port:
        ensure_port_free(launch.port)
    port = launch.port or free_port()
    env = {**os.environ, **launch.settings_env, **source.env, "PYTHONUNBUFFERED": "1"}
    factory = APP_FACTORY
    if source.kind == "app":
        env.update(source.spec().to_env())
        factory = FOREIGN_FACTORY
    if launch.workers is not None:
        env.update(launch.workers.env())
    argv = server.argv(port, factory, launch.shape)
    child = children.spawn("app", argv, log_path=launch.log_path, cpus=launch.cpus, env=env)
    app = App(child, port, workers=launch.workers)
    try:
        info = wait_ready(child, f"{app.url}{INFO_PATH}", launch.ready_timeout_s, "the app")
        if launch.workers is not None:
            launch.workers.wait(child.running, launch.ready_timeout_s)
    except BenchError:
        _raise_load_error(child, source)
        raise
    children.watch(child)  # from now on, the app exiting stops the run
    return app, info


def _raise_load_error(child: ManagedProcess, source: Source) -> None:
    """A user's app that could not be loaded said why on one line: that line is the error."""
    for line in reversed(child.tail(5).split(" | ")):
        if line.startswith(LOAD_ERROR_PREFIX):
            raise BenchError(f"--app {source.app}: {line.removeprefix(LOAD_ERROR_PREFIX)}")


def connect_target(url: str, timeout_s: float = 5.0) -> tuple[App, dict[str, Any]]:
    """A server the harness did not start: it must answer; its server-side signals are
    available only if it serves the instrumentation (``install_instrumentation(app)``)."""
    with httpx.Client(timeout=timeout_s) as client:
        try:
            response = client.get(f"{url}{INFO_PATH}")
        except httpx.HTTPError as exc:
            raise BenchError(
                f"--target {url}: nothing answers ({_reason(exc)}); start the server first"
            ) from None
    info: dict[str, Any] = {}
    if response.status_code == 200:
        try:
            info = response.json()
        except ValueError:
            info = {}
    instrumented = isinstance(info, dict) and bool(info.get("instrumented"))
    if not instrumented:
        info = {"instrumented": False, "server": response.headers.get("server", "")}
    return App(None, 0, base_url=url, metrics=instrumented), info


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if "refused" in text.lower():
        return "connection refused"
    return " ".join(text.split())[:120]


def check_endpoints(app: App, endpoints: Sequence[Endpoint], timeout_s: float) -> None:
    """Request every endpoint once before any load, as the load generator will (method,
    headers, body): no answer, a status the scenario does not expect (a wrong path, method or
    body) or a body without the expected text stops the run with one line naming the endpoint,
    instead of a measurement at 100 % errors. A 5xx is retried twice (a cold app). An endpoint
    slower than the timeout is left to the measurement, which counts its timeouts."""
    with httpx.Client(timeout=timeout_s) as client:
        for endpoint in endpoints:
            if endpoint.protocol == WEBSOCKET:
                _check_websocket(app.url, endpoint, timeout_s)
            else:
                _check_endpoint(client, app.url, endpoint)


def _check_websocket(url: str, endpoint: Endpoint, timeout_s: float) -> None:
    """Connect, send the endpoint's message once and wait for an answer, as each user will: a
    refused upgrade (a wrong path, an HTTP route) or no answer stops the run before any load."""
    what = f"endpoint {endpoint.label!r} (WebSocket {endpoint.path})"
    ws_url = url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + endpoint.path
    try:
        with ws_connect(
            ws_url,
            open_timeout=timeout_s,
            close_timeout=1.0,
            additional_headers=dict(endpoint.headers),
        ) as ws:
            ws.send(endpoint.message or "hello")
            ws.recv(timeout=timeout_s)
    except InvalidStatus as exc:
        status = exc.response.status_code
        raise BenchError(
            f"{what} refused the WebSocket upgrade with HTTP {status}: is it a WebSocket route, "
            "and its query valid?"
        ) from None
    except TimeoutError:
        return  # slower than the timeout: left to the measurement, which counts it
    except (OSError, WebSocketException) as exc:
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise BenchError(f"{what} did not answer a message before the load: {reason}") from None


def _check_endpoint(client: httpx.Client, url: str, endpoint: Endpoint, attempts: int = 3) -> None:
    what = f"endpoint {endpoint.label!r} ({endpoint.method} {endpoint.path})"
    headers = dict(endpoint.headers)
    if endpoint.body and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    response: httpx.Response | None = None
    for _ in range(attempts):
        try:
            response = client.request(
                endpoint.method,
                f"{url}{endpoint.path}",
                headers=headers,
                content=endpoint.body.encode() or None,
            )
        except httpx.TimeoutException:
            return
        except httpx.HTTPError as exc:
            raise BenchError(f"{what} did not answer before the load: {_reason(exc)}") from None
        if endpoint.expects(response.status_code) or not response.is_server_error:
            break
    assert response is not None
    if not endpoint.expects(response.status_code):
        detail = " ".join(response.text.split())[:200]
        wanted = ", ".join(map(str, endpoint.expect_status)) or "2xx"
        raise BenchError(
            f"{what} answered {response.status_code} {response.reason_phrase} ({detail}), "
            f"expected {wanted}: fix the scenario's path, method or body before measuring"
        )
    if endpoint.expect_body and endpoint.expect_body not in response.text:
        detail = " ".join(response.text.split())[:120]
        raise BenchError(
            f"{what} answered {response.status_code} without {endpoint.expect_body!r} in its "
            f"body ({detail}): is it the app you meant?"
        )
