"""Shared fixtures of the target-app tests.

Upstream fixtures (http and fan-out families): the real upstream app served by uvicorn over real
TCP on 127.0.0.1, in a thread with its own event loop (so a handler that blocks the app's loop
does not block the upstream), stopped with ``should_exit`` at teardown.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from target_app.main import create_app
from target_app.settings import Settings
from target_app.upstream import UpstreamSettings, create_upstream


@contextlib.contextmanager
def serve_upstream(settings: UpstreamSettings) -> Iterator[str]:
    """Serve the upstream on a free 127.0.0.1 port in a thread; yield its base URL."""
    with serve(create_upstream(settings)) as url:
        yield url


@contextlib.contextmanager
def serve(app: Any, ws: str = "none") -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws=ws,  # type: ignore[arg-type]
        loop="asyncio",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="served-app", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the served app did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def upstream_url() -> Iterator[str]:
    """A well-behaved upstream: no default latency, no errors, 256-byte payloads."""
    with serve_upstream(UpstreamSettings(latency_ms=0, jitter_ms=0, error_rate=0, seed=1)) as url:
        yield url


@pytest.fixture(scope="session")
def failing_upstream_url() -> Iterator[str]:
    """An upstream whose every ``/item`` answers HTTP 500."""
    with serve_upstream(UpstreamSettings(latency_ms=0, error_rate=1.0, seed=1)) as url:
        yield url


@pytest.fixture(scope="session")
def closed_upstream_url() -> str:
    """A 127.0.0.1 URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


HttpAppFactory = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def http_app_for(upstream_url: str) -> HttpAppFactory:
    """``async with http_app_for(**settings) as client``: the app with its lifespan entered.

    ``upstream_url`` defaults to the well-behaved upstream; pass it to point elsewhere.
    """

    @contextlib.asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(**{"upstream_url": upstream_url, **overrides})
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                yield client

    return factory


@pytest.fixture
async def http_app(http_app_for: HttpAppFactory) -> AsyncIterator[httpx.AsyncClient]:
    """The app against the well-behaved upstream, default settings."""
    async with http_app_for() as client:
        yield client
