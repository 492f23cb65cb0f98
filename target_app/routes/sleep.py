"""Sleep: a pure wait of ``ms`` milliseconds, and the classic pitfall with its fix.

- ``/sync/sleep``: ``time.sleep`` in ``def`` → one thread-pool token per request.
- ``/async/sleep``: ``await asyncio.sleep`` in ``async def`` → no thread, no token.
- ``/pitfall/sleep``: ``time.sleep`` inside ``async def`` → the event loop itself is blocked,
  every other request waits.
- ``/fixed/sleep``: the same blocking call offloaded with ``run_in_threadpool``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

router = APIRouter(tags=["sleep"])

Millis = Annotated[int, Query(ge=0, le=10_000, description="how long to wait, in milliseconds")]


def _payload(ms: int) -> dict[str, int | str]:
    return {"workload": "sleep", "ms": ms}


@router.get("/sync/sleep")
def sleep_sync(ms: Millis = 100) -> dict[str, int | str]:
    time.sleep(ms / 1000)
    return _payload(ms)


@router.get("/async/sleep")
async def sleep_async(ms: Millis = 100) -> dict[str, int | str]:
    await asyncio.sleep(ms / 1000)
    return _payload(ms)


@router.get("/pitfall/sleep")
async def sleep_pitfall(ms: Millis = 100) -> dict[str, int | str]:
    time.sleep(ms / 1000)  # the pitfall: blocks the event loop for every request
    return _payload(ms)


@router.get("/fixed/sleep")
async def sleep_fixed(ms: Millis = 100) -> dict[str, int | str]:
    await run_in_threadpool(time.sleep, ms / 1000)
    return _payload(ms)
