"""``create_app(settings)``: the app under test, its lifespan and its bench endpoints.

Run it alone with ``bench serve`` or ``uvicorn target_app.main:app_from_env --factory``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from target_app.instrumentation import install_instrumentation
from target_app.routes import FAMILIES
from target_app.settings import Settings

DOCS_STATIC = "/_bench/docs-static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. The lifespan sizes anyio's thread pool and opens shared clients."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.threadpool_tokens
        async with contextlib.AsyncExitStack() as stack:
            for family in FAMILIES:
                await _enter_family(stack, family, app)
            yield

    # Swagger UI and ReDoc served from the installed fastapi-offline package, not a CDN:
    # /docs works on a machine without internet.
    app = FastAPIOffline(
        title="sync vs async bench target",
        description="Paired `def` / `async def` endpoints per workload family.",
        lifespan=lifespan,
        static_url=DOCS_STATIC,
    )
    app.state.settings = settings
    for family in FAMILIES:
        app.include_router(family.router)

    def info() -> dict[str, Any]:
        """What ``/_bench/info`` adds for this app: its settings, families and pool facts."""
        return {
            "settings": settings.public(),
            "families": [f.__name__.rsplit(".", 1)[-1] for f in FAMILIES],
            "extra": dict(getattr(app.state, "bench_extra", {})),
        }

    # /_bench/metrics and /_bench/info, loop lag, X-Process-Time: what `--app` adds to any app
    signals = install_instrumentation(app, info=info)
    signals.lag_interval_ms = settings.loop_lag_interval_ms
    return app


async def _enter_family(stack: contextlib.AsyncExitStack, family: ModuleType, app: FastAPI) -> None:
    lifespan = getattr(family, "lifespan", None)
    if lifespan is not None:
        await stack.enter_async_context(lifespan(app))


def app_from_env() -> FastAPI:
    """Factory for uvicorn (``--factory``): settings from ``BENCH_*`` environment variables."""
    return create_app(Settings())
