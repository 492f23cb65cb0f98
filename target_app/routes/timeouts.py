"""Timeouts: one call to an upstream that sometimes hangs, with a client timeout and without.

"Always set timeouts." A share ``hang_rate`` of the upstream's answers take ``hang_ms`` (30 s by
default) instead of ``latency_ms``:

- ``/sync/http/requests/timeout``: ``def`` + the shared ``requests.Session``, ``timeout=``
  ``timeout_ms`` (1 s) → a hanging call answers 504 after ≈1 s and gives its thread back.
- ``/sync/http/requests/no-timeout``: the same with ``timeout=None`` → the call holds its
  thread-pool token for the whole hang; a few hangs exhaust the pool (``threadpool_borrowed``).
- ``/async/http/aiohttp/timeout``: ``async def`` + the shared ``aiohttp.ClientSession``,
  ``ClientTimeout(total=timeout_ms)`` → 504 after ≈1 s.
- ``/async/http/aiohttp/no-timeout``: ``ClientTimeout()`` (none) → the hang costs only a
  waiting task and a connection, but each caller still waits for the whole hang.

"No timeout" is still bounded: the upstream caps ``hang_ms`` at ``MAX_HANG_MS`` (30 s, the load
generator's per-request timeout), so every call ends and every load test ends. Clients, error
mapping (502 upstream error, 504 timeout, 503 no upstream) and the in-flight gauge are the http
family's; the timed-out calls answer 504, which the load generator counts as failures.
"""

from __future__ import annotations

import json
from typing import Annotated

import aiohttp
import requests
from fastapi import APIRouter, Query

from target_app.routes.http import (
    Clients,
    Fetched,
    HttpClients,
    LatencyMs,
    Size,
    check_response,
    upstream_timeout,
    upstream_unreachable,
)
from target_app.upstream import MAX_HANG_MS

router = APIRouter(tags=["timeouts"])

HangRate = Annotated[
    float, Query(ge=0, le=1, description="share of upstream calls that hang for hang_ms")
]
HangMs = Annotated[
    int, Query(ge=0, le=int(MAX_HANG_MS), description="how long a hanging call takes, ms")
]
TimeoutMs = Annotated[
    int, Query(ge=1, le=int(MAX_HANG_MS), description="the client timeout of the call, ms")
]
Payload = dict[str, int | float | str | None]


def _params(latency_ms: int, size: int, hang_rate: float, hang_ms: int) -> dict[str, float]:
    return {"latency_ms": latency_ms, "size": size, "hang_rate": hang_rate, "hang_ms": hang_ms}


def _payload(
    latency_ms: int, size: int, hang_rate: float, hang_ms: int, timeout_ms: int | None, f: Fetched
) -> Payload:
    return {
        "workload": "timeouts",
        "latency_ms": latency_ms,
        "size": size,
        "hang_rate": hang_rate,
        "hang_ms": hang_ms,
        "timeout_ms": timeout_ms,
        "upstream_status": f.status,
        "upstream_bytes": f.nbytes,
    }


def fetch_requests_with(
    clients: HttpClients, params: dict[str, float], timeout_s: float | None
) -> Fetched:
    """Blocking call with the shared ``requests.Session``; ``timeout_s=None`` waits forever."""
    try:
        with clients.inflight.count():
            resp = clients.session.get(clients.item_url, params=params, timeout=timeout_s)
    except requests.Timeout:
        raise upstream_timeout(timeout_s or 0.0) from None
    except requests.RequestException as exc:
        raise upstream_unreachable(exc) from None
    return check_response(resp.status_code, resp.content, resp.json)


async def fetch_aiohttp_with(
    clients: HttpClients, params: dict[str, float], timeout_s: float | None
) -> Fetched:
    """Non-blocking call with the shared ``aiohttp.ClientSession``; ``None`` = no timeout."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)  # every other field None: only total
    try:
        with clients.inflight.count():
            async with clients.aiohttp.get(
                clients.item_url, params=params, timeout=timeout
            ) as resp:
                body = await resp.read()
    except TimeoutError:  # aiohttp's timeouts subclass the builtin TimeoutError
        raise upstream_timeout(timeout_s or 0.0) from None
    except aiohttp.ClientError as exc:
        raise upstream_unreachable(exc) from None
    return check_response(resp.status, body, lambda: json.loads(body))


@router.get("/sync/http/requests/timeout")
def timeouts_sync_requests(
    clients: Clients,
    latency_ms: LatencyMs = 100,
    size: Size = 256,
    hang_rate: HangRate = 0.0,
    hang_ms: HangMs = int(MAX_HANG_MS),
    timeout_ms: TimeoutMs = 1000,
) -> Payload:
    params = _params(latency_ms, size, hang_rate, hang_ms)
    fetched = fetch_requests_with(clients, params, timeout_ms / 1000)
    return _payload(latency_ms, size, hang_rate, hang_ms, timeout_ms, fetched)


@router.get("/sync/http/requests/no-timeout")
def timeouts_sync_requests_none(
    clients: Clients,
    latency_ms: LatencyMs = 100,
    size: Size = 256,
    hang_rate: HangRate = 0.0,
    hang_ms: HangMs = int(MAX_HANG_MS),
) -> Payload:
    # The pitfall: no timeout, so a hanging upstream holds this thread (and its token) throughout.
    fetched = fetch_requests_with(clients, _params(latency_ms, size, hang_rate, hang_ms), None)
    return _payload(latency_ms, size, hang_rate, hang_ms, None, fetched)


@router.get("/async/http/aiohttp/timeout")
async def timeouts_async_aiohttp(
    clients: Clients,
    latency_ms: LatencyMs = 100,
    size: Size = 256,
    hang_rate: HangRate = 0.0,
    hang_ms: HangMs = int(MAX_HANG_MS),
    timeout_ms: TimeoutMs = 1000,
) -> Payload:
    params = _params(latency_ms, size, hang_rate, hang_ms)
    fetched = await fetch_aiohttp_with(clients, params, timeout_ms / 1000)
    return _payload(latency_ms, size, hang_rate, hang_ms, timeout_ms, fetched)


@router.get("/async/http/aiohttp/no-timeout")
async def timeouts_async_aiohttp_none(
    clients: Clients,
    latency_ms: LatencyMs = 100,
    size: Size = 256,
    hang_rate: HangRate = 0.0,
    hang_ms: HangMs = int(MAX_HANG_MS),
) -> Payload:
    params = _params(latency_ms, size, hang_rate, hang_ms)
    fetched = await fetch_aiohttp_with(clients, params, None)
    return _payload(latency_ms, size, hang_rate, hang_ms, None, fetched)
