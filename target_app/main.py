"""``create_app(settings)``: the app under test, its lifespan and its bench endpoints.

Run it alone with ``bench serve`` or ``uvicorn target_app.main:app_from_env --factory``.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Callable, Iterator
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
    """Build the app. The lifespan sizes anyio's thread pool, opens shared clients, tunes gc."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.threadpool_tokens
        with _gc_tuned(settings, app) as freeze:
            async with contextlib.AsyncExitStack() as stack:
                for family in FAMILIES:
                    await _enter_family(stack, family, app)
                freeze()  # last: everything the families built moves to the permanent generation
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


@contextlib.contextmanager
def _gc_tuned(settings: Settings, app: FastAPI) -> Iterator[Callable[[], None]]:
    """``gc_threshold`` now, ``gc_freeze`` when the returned callable is called (after start-up);
    both recorded in ``/_bench/info`` (``extra.gc``) and undone on exit."""
    before = gc.get_threshold()
    if settings.gc_thresholds():
        gc.set_threshold(*settings.gc_thresholds())
    record = app.state.bench_extra = getattr(app.state, "bench_extra", {})
    record["gc"] = {"freeze": False, "frozen_objects": 0, "threshold": list(gc.get_threshold())}

    def freeze() -> None:
        if settings.gc_freeze:
            gc.freeze()
            record["gc"].update(freeze=True, frozen_objects=gc.get_freeze_count())

    try:
        yield freeze
    finally:
        if settings.gc_freeze:
            gc.unfreeze()
        gc.set_threshold(*before)


def app_from_env() -> FastAPI:
    """Factory for uvicorn (``--factory``): settings from ``BENCH_*`` environment variables."""
    return create_app(Settings())
