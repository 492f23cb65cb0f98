"""``create_app(settings)``: the app under test, its lifespan and its bench endpoints.

Run it alone with ``bench serve`` or ``uvicorn target_app.main:app_from_env --factory``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from target_app.instrumentation import (
    ProcessTimeMiddleware,
    Signals,
    package_versions,
    sample_loop_lag,
)
from target_app.routes import FAMILIES
from target_app.settings import Settings

VERSIONED_PACKAGES = ("fastapi", "starlette", "uvicorn", "anyio", "pydantic")
DOCS_STATIC = "/_bench/docs-static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. The lifespan sizes anyio's thread pool and opens shared clients."""
    settings = settings or Settings()
    signals = Signals()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.threadpool_tokens
        ticker = asyncio.create_task(
            sample_loop_lag(signals, settings.loop_lag_interval_ms / 1000.0), name="loop-lag"
        )
        try:
            async with contextlib.AsyncExitStack() as stack:
                for family in FAMILIES:
                    await _enter_family(stack, family, app)
                yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    # Swagger UI and ReDoc served from the installed fastapi-offline package, not a CDN:
    # /docs works on a machine without internet.
    app = FastAPIOffline(
        title="sync vs async bench target",
        description="Paired `def` / `async def` endpoints per workload family.",
        lifespan=lifespan,
        static_url=DOCS_STATIC,
    )
    app.state.settings = settings
    app.state.signals = signals
    for family in FAMILIES:
        app.include_router(family.router)

    @app.get("/_bench/info", tags=["bench"])
    async def bench_info() -> dict[str, Any]:
        """Settings, versions and thread-pool size of this server process."""
        limiter = anyio.to_thread.current_default_thread_limiter()
        return {
            "pid": os.getpid(),
            "settings": settings.public(),
            "threadpool_tokens": limiter.total_tokens,
            "versions": package_versions(VERSIONED_PACKAGES),
            "families": [f.__name__.rsplit(".", 1)[-1] for f in FAMILIES],
            "extra": dict(getattr(app.state, "bench_extra", {})),
        }

    @app.get("/_bench/metrics", tags=["bench"])
    async def bench_metrics() -> dict[str, Any]:
        """Server-side signals since the previous read (loop lag, pools, CPU, RSS)."""
        return signals.snapshot()

    app.add_middleware(ProcessTimeMiddleware, signals=signals)
    return app


async def _enter_family(stack: contextlib.AsyncExitStack, family: ModuleType, app: FastAPI) -> None:
    lifespan = getattr(family, "lifespan", None)
    if lifespan is not None:
        await stack.enter_async_context(lifespan(app))


def app_from_env() -> FastAPI:
    """Factory for uvicorn (``--factory``): settings from ``BENCH_*`` environment variables."""
    return create_app(Settings())
