"""Threads: the *other* thread pool, and a ``def`` dependency on an ``async def`` route.

FastAPI runs ``def`` routes, ``def`` dependencies and ``run_in_threadpool`` on anyio's worker
threads, limited by anyio's default capacity limiter (40 tokens, ``--threadpool-tokens``).
``asyncio.to_thread`` and ``loop.run_in_executor(None, …)`` do not: they use the event loop's
*default executor*, a ``concurrent.futures.ThreadPoolExecutor`` of ``min(32, cpus + 4)``
threads (Python 3.8–3.12; 6 on a 2-CPU machine). Both fix the sleep pitfall — the loop stays
free — but the ceiling is a different, smaller pool:

- ``/fixed/sleep/to-thread``: ``await asyncio.to_thread(time.sleep, …)``.
- ``/fixed/sleep/executor``: ``await loop.run_in_executor(None, time.sleep, …)`` (same pool).

At 100 users × 100 ms: anyio's 40 tokens → 400 RPS (``/fixed/sleep``), 6 executor threads →
60 RPS. The executor's size is reported in ``/_bench/info`` (``extra.executor.workers``, the
capacity model's ``executor_workers``); the ``executor_in_flight`` gauge counts this family's
calls submitted to it and not yet done (running or queued).

A dependency follows the same rule as a route: a ``def`` dependency runs in anyio's thread
pool even when the route is ``async def``.

- ``/sync/dependency``: an ``async def`` route whose ``def`` dependency waits ``ms``
  (``time.sleep``) → one thread-pool token per request, for ``ms``.
- ``/async/dependency``: the same route with an ``async def`` dependency
  (``await asyncio.sleep``) → no thread, no token.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query

router = APIRouter(tags=["threads"])

Millis = Annotated[int, Query(ge=0, le=10_000, description="how long to wait, in milliseconds")]


class Submitted:
    """Calls handed to the default executor and not finished yet (changed on the loop only)."""

    def __init__(self) -> None:
        self.count = 0

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1


_SUBMITTED = Submitted()


def default_executor_workers() -> int:
    """The size of the executor a loop creates for ``run_in_executor(None, …)``: a
    ``ThreadPoolExecutor()`` with no arguments (asyncio and uvloop alike). Creating one starts
    no thread; its size is Python's own default for this machine and version."""
    probe = ThreadPoolExecutor()
    try:
        # private, but the only place the size is kept; the documented formula if it moves
        return int(getattr(probe, "_max_workers", 0)) or min(32, (os.cpu_count() or 1) + 4)
    finally:
        probe.shutdown(wait=False)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Record the default executor's size; expose the calls waiting on it as a gauge."""
    extra = getattr(app.state, "bench_extra", None)
    if extra is None:
        extra = app.state.bench_extra = {}
    extra["executor"] = {"workers": default_executor_workers()}
    signals = getattr(app.state, "signals", None)
    if signals is not None:
        signals.register_gauge("executor_in_flight", lambda: float(_SUBMITTED.count))
    yield


def _payload(ms: int, via: str) -> dict[str, int | str]:
    return {"workload": "sleep", "ms": ms, "via": via}


@router.get("/fixed/sleep/to-thread")
async def sleep_to_thread(ms: Millis = 100) -> dict[str, int | str]:
    with _SUBMITTED.held():
        await asyncio.to_thread(time.sleep, ms / 1000)  # the loop's default executor
    return _payload(ms, "to_thread")


@router.get("/fixed/sleep/executor")
async def sleep_executor(ms: Millis = 100) -> dict[str, int | str]:
    loop = asyncio.get_running_loop()
    with _SUBMITTED.held():
        await loop.run_in_executor(None, time.sleep, ms / 1000)  # the same default executor
    return _payload(ms, "run_in_executor")


def wait_sync(ms: Millis = 100) -> int:
    """A ``def`` dependency: FastAPI runs it in anyio's thread pool (one token for ``ms``)."""
    time.sleep(ms / 1000)
    return ms


async def wait_async(ms: Millis = 100) -> int:
    """An ``async def`` dependency: awaited on the loop, no thread."""
    await asyncio.sleep(ms / 1000)
    return ms


@router.get("/sync/dependency")
async def dependency_sync(ms: Annotated[int, Depends(wait_sync)]) -> dict[str, int | str]:
    return {"workload": "dependency", "ms": ms}


@router.get("/async/dependency")
async def dependency_async(ms: Annotated[int, Depends(wait_async)]) -> dict[str, int | str]:
    return {"workload": "dependency", "ms": ms}
