"""Baseline: no work at all. Measures the framework's own cost of `def` vs `async def`.

`def` handlers run in anyio's thread pool (a thread hop per request); `async def` handlers run
on the event loop. With nothing awaited, the async one skips the hop.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["baseline"])

PAYLOAD = {"message": "hello"}


@router.get("/sync/hello")
def hello_sync() -> dict[str, str]:
    return PAYLOAD


@router.get("/async/hello")
async def hello_async() -> dict[str, str]:
    return PAYLOAD
