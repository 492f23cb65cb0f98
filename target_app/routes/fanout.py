"""Fan-out: the tutorials' "fetch three subreddits" example, ``n`` upstream calls per request.

- ``/sync/fanout``: ``def``, the calls one after the other with the shared ``requests.Session``
  → n × latency, holding one thread-pool token throughout.
- ``/async/fanout/sequential``: ``async def``, each call awaited in turn → still n × latency
  (``async`` alone buys nothing for one request; it frees the loop for the others).
- ``/async/fanout/gather``: ``asyncio.gather`` of the n calls → about one latency.
- ``/async/fanout/semaphore?k=``: gather under ``asyncio.Semaphore(k)`` → ⌈n / k⌉ × latency.

The async routes use the http family's shared ``aiohttp.ClientSession`` (``ASYNC_CLIENT``):
with httpx 0.28.1 / httpcore 1.0.9 the ``AsyncClient``'s pool bookkeeping costs CPU that grows
with the number of connections in use (see the http family's notes), so a gather of many calls
would measure httpcore's pool, not the pattern. Client set-up, limits and error mapping (502
upstream error, 504 timeout, 503 no upstream) are the http family's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Annotated

from fastapi import APIRouter, Query

from target_app.routes.http import (
    Clients,
    Fetched,
    HttpClients,
    LatencyMs,
    Size,
    fetch_aiohttp,
    fetch_requests,
)

router = APIRouter(tags=["fanout"])

ASYNC_CLIENT = "aiohttp"
Calls = Annotated[int, Query(ge=1, le=50, description="number of upstream calls per request")]
Concurrency = Annotated[int, Query(ge=1, le=50, description="calls in flight at once")]


def _payload(
    n: int, latency_ms: int, size: int, fetched: Sequence[Fetched]
) -> dict[str, int | str]:
    return {
        "workload": "fanout",
        "n": n,
        "latency_ms": latency_ms,
        "size": size,
        "upstream_bytes": sum(f.nbytes for f in fetched),
    }


async def _fetch(clients: HttpClients, latency_ms: int, size: int) -> Fetched:
    return await fetch_aiohttp(clients, latency_ms, size)


async def _gather(calls: Sequence[Awaitable[Fetched]]) -> list[Fetched]:
    """``asyncio.gather``; on the first failure the calls still running are cancelled."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()  # no-op for finished tasks


@router.get("/sync/fanout")
def fanout_sync(
    clients: Clients, n: Calls = 3, latency_ms: LatencyMs = 100, size: Size = 256
) -> dict[str, int | str]:
    fetched = [fetch_requests(clients, latency_ms, size) for _ in range(n)]
    return _payload(n, latency_ms, size, fetched)


@router.get("/async/fanout/sequential")
async def fanout_async_sequential(
    clients: Clients, n: Calls = 3, latency_ms: LatencyMs = 100, size: Size = 256
) -> dict[str, int | str]:
    fetched = [await _fetch(clients, latency_ms, size) for _ in range(n)]
    return _payload(n, latency_ms, size, fetched)


@router.get("/async/fanout/gather")
async def fanout_async_gather(
    clients: Clients, n: Calls = 3, latency_ms: LatencyMs = 100, size: Size = 256
) -> dict[str, int | str]:
    fetched = await _gather([_fetch(clients, latency_ms, size) for _ in range(n)])
    return _payload(n, latency_ms, size, fetched)


@router.get("/async/fanout/semaphore")
async def fanout_async_semaphore(
    clients: Clients,
    n: Calls = 3,
    k: Concurrency = 3,
    latency_ms: LatencyMs = 100,
    size: Size = 256,
) -> dict[str, int | str]:
    semaphore = asyncio.Semaphore(k)

    async def limited() -> Fetched:
        async with semaphore:
            return await _fetch(clients, latency_ms, size)

    fetched = await _gather([limited() for _ in range(n)])
    return _payload(n, latency_ms, size, fetched)
