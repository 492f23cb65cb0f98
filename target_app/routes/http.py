"""HTTP: one call to the external API (``settings.upstream_url``), with each popular client.

- ``/sync/http/requests``: ``def`` + one shared ``requests.Session`` → a thread-pool token per call.
- ``/sync/http/httpx``: ``def`` + one shared ``httpx.Client``.
- ``/async/http/httpx``: ``async def`` + one shared ``httpx.AsyncClient``.
- ``/async/http/aiohttp``: ``async def`` + one shared ``aiohttp.ClientSession``.
- ``/async/http/httpx2``: the fix in a fork, ``httpx2.AsyncClient`` (httpcore2 rewrote the pool's
  ``_assign_requests_to_connections``): httpx's API, another package.
- ``/async/http/httpx-aiohttp``: the fix as a transport, ``httpx_aiohttp.HttpxAiohttpClient``
  (an ``httpx.AsyncClient`` whose transport is aiohttp's connection pool).
- ``/async/http/httpx-per-request``: the anti-pattern, a new ``httpx.AsyncClient`` per request
  (new TLS context, new connection pool, new TCP connection every time).
- ``/pitfall/http``: the shared ``requests.Session`` inside ``async def``: blocks the event loop.
- ``/fixed/http``: the same blocking call offloaded with ``run_in_threadpool``.

All clients share one size (``settings.http_max_connections``) and one timeout
(``settings.http_timeout_s``), recorded in ``/_bench/info`` under ``extra.http``. The upstream URL
comes from settings only. An upstream error answers 502, an upstream timeout 504, a missing
``upstream_url`` 503: the load generator counts them as failures, never as a 500 traceback.

The fetch helpers (``fetch_*``) and ``get_clients`` are shared with the fan-out family.

Known finding (httpx 0.28.1 / httpcore 1.0.9, encode/httpx#3215): under ~30+ concurrent calls the
shared ``AsyncClient`` becomes CPU-bound in ``AsyncConnectionPool._assign_requests_to_connections``
(quadratic keep-alive check, one idle connection handed to every queued request then retried,
a ``poll()`` per connection per pass), so its throughput *falls* as concurrency rises. It is kept
as is: that is what users of the library get.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import aiohttp
import httpx
import httpx2
import requests
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from httpx_aiohttp import HttpxAiohttpClient
from requests.adapters import HTTPAdapter
from starlette.concurrency import run_in_threadpool

from target_app.instrumentation import package_versions
from target_app.settings import Settings

router = APIRouter(tags=["http"])

LatencyMs = Annotated[
    int, Query(ge=0, le=10_000, description="upstream latency to ask for, in milliseconds")
]
Size = Annotated[int, Query(ge=0, le=1_000_000, description="upstream JSON payload size, bytes")]
CLIENT_PACKAGES = (
    "requests",
    "urllib3",
    "httpx",
    "httpcore",
    "aiohttp",
    "httpx2",
    "httpcore2",
    "httpx-aiohttp",
)


class Inflight:
    """Upstream calls in progress, across threads and tasks (exposed as a gauge)."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def count(self) -> Iterator[None]:
        with self._lock:
            self.value += 1
        try:
            yield
        finally:
            with self._lock:
                self.value -= 1


@dataclass
class HttpClients:
    """The family's shared clients, kept on ``app.state.http_clients`` for the lifespan."""

    item_url: str
    timeout_s: float
    max_connections: int
    session: requests.Session
    httpx_sync: httpx.Client
    httpx_async: httpx.AsyncClient
    aiohttp: aiohttp.ClientSession
    httpx2_async: httpx2.AsyncClient  # the fork's client (httpcore2's pool)
    httpx_aiohttp: httpx.AsyncClient  # httpx's API over aiohttp's pool (httpx-aiohttp)
    inflight: Inflight = field(default_factory=Inflight)

    def limits(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_connections, max_keepalive_connections=self.max_connections
        )


@dataclass(frozen=True)
class Fetched:
    """What one upstream call returned; equal across clients for equal inputs."""

    status: int
    nbytes: int


def _params(latency_ms: int, size: int) -> dict[str, int]:
    return {"latency_ms": latency_ms, "size": size}


Payload = dict[str, int | str]


def payload(latency_ms: int, size: int, fetched: Fetched) -> Payload:
    return {
        "workload": "http",
        "latency_ms": latency_ms,
        "size": size,
        "upstream_status": fetched.status,
        "upstream_bytes": fetched.nbytes,
    }


def upstream_failed(status: int) -> HTTPException:
    return HTTPException(502, f"upstream answered HTTP {status}")


def upstream_timeout(timeout_s: float) -> HTTPException:
    return HTTPException(504, f"upstream did not answer within {timeout_s:g} s")


def upstream_unreachable(exc: Exception) -> HTTPException:
    return HTTPException(502, f"upstream unreachable: {type(exc).__name__}")


def check_response(status: int, body: bytes, parse: Callable[[], Any]) -> Fetched:
    """Non-2xx → 502; a 2xx body is parsed as the JSON object it must be (realistic client work)."""
    if not 200 <= status < 300:
        raise upstream_failed(status)
    try:
        data = parse()
    except ValueError:
        raise HTTPException(502, "upstream answered invalid JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(502, "upstream answered unexpected JSON")
    return Fetched(status, len(body))


def fetch_requests(clients: HttpClients, latency_ms: int, size: int) -> Fetched:
    """Blocking call with the shared ``requests.Session`` (run it in a thread!)."""
    try:
        with clients.inflight.count():
            resp = clients.session.get(
                clients.item_url, params=_params(latency_ms, size), timeout=clients.timeout_s
            )
    except requests.Timeout:
        raise upstream_timeout(clients.timeout_s) from None
    except requests.RequestException as exc:
        raise upstream_unreachable(exc) from None
    return check_response(resp.status_code, resp.content, resp.json)


def fetch_httpx_sync(clients: HttpClients, latency_ms: int, size: int) -> Fetched:
    """Blocking call with the shared ``httpx.Client``."""
    try:
        with clients.inflight.count():
            resp = clients.httpx_sync.get(clients.item_url, params=_params(latency_ms, size))
    except httpx.TimeoutException:
        raise upstream_timeout(clients.timeout_s) from None
    except httpx.TransportError as exc:
        raise upstream_unreachable(exc) from None
    return check_response(resp.status_code, resp.content, resp.json)


async def fetch_httpx(
    clients: HttpClients, latency_ms: int, size: int, client: httpx.AsyncClient | None = None
) -> Fetched:
    """Non-blocking call with the shared ``httpx.AsyncClient`` (or the one given)."""
    try:
        with clients.inflight.count():
            resp = await (client or clients.httpx_async).get(
                clients.item_url, params=_params(latency_ms, size)
            )
    except httpx.TimeoutException as exc:
        # httpx-aiohttp 0.2 maps aiohttp's "connection refused" to ConnectTimeout: not a timeout
        if isinstance(exc.__cause__, aiohttp.ClientConnectorError):
            raise upstream_unreachable(exc.__cause__) from None
        raise upstream_timeout(clients.timeout_s) from None
    except httpx.TransportError as exc:
        raise upstream_unreachable(exc) from None
    return check_response(resp.status_code, resp.content, resp.json)


async def fetch_httpx2(clients: HttpClients, latency_ms: int, size: int) -> Fetched:
    """Non-blocking call with the shared ``httpx2.AsyncClient`` (its own exception classes)."""
    try:
        with clients.inflight.count():
            resp = await clients.httpx2_async.get(
                clients.item_url, params=_params(latency_ms, size)
            )
    except httpx2.TimeoutException:
        raise upstream_timeout(clients.timeout_s) from None
    except httpx2.TransportError as exc:
        raise upstream_unreachable(exc) from None
    return check_response(resp.status_code, resp.content, resp.json)


async def fetch_aiohttp(clients: HttpClients, latency_ms: int, size: int) -> Fetched:
    """Non-blocking call with the shared ``aiohttp.ClientSession``."""
    try:
        with clients.inflight.count():
            async with clients.aiohttp.get(
                clients.item_url, params=_params(latency_ms, size)
            ) as resp:
                body = await resp.read()
    except TimeoutError:  # aiohttp's timeouts subclass the builtin TimeoutError
        raise upstream_timeout(clients.timeout_s) from None
    except aiohttp.ClientError as exc:
        raise upstream_unreachable(exc) from None
    return check_response(resp.status, body, lambda: json.loads(body))


async def get_clients(request: Request) -> HttpClients:
    """Dependency: the shared clients, or 503 when no upstream is configured.

    ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, so a
    lookup of a few attributes would cost every request (``async def`` endpoints included) a
    thread-pool hop and a GIL hand-off. It never blocks, so it belongs on the event loop.
    """
    clients: HttpClients | None = getattr(request.app.state, "http_clients", None)
    if clients is None:
        raise HTTPException(
            503, "no upstream configured: set BENCH_UPSTREAM_URL (settings.upstream_url)"
        )
    return clients


Clients = Annotated[HttpClients, Depends(get_clients)]


def _open_clients(settings: Settings) -> HttpClients:
    base = settings.upstream_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"upstream_url must be an http(s) URL, got {settings.upstream_url!r}")
    size, timeout_s = settings.http_max_connections, settings.http_timeout_s
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    tls = httpx.create_ssl_context()  # ~50 ms of CA loading: once for both httpx clients
    session = requests.Session()
    # pool_block: at most ``size`` connections, like the other clients (not "open and discard").
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=size, pool_block=True)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return HttpClients(
        item_url=f"{base}/item",
        timeout_s=timeout_s,
        max_connections=size,
        session=session,
        httpx_sync=httpx.Client(limits=limits, timeout=timeout_s, verify=tls),
        httpx_async=httpx.AsyncClient(limits=limits, timeout=timeout_s, verify=tls),
        aiohttp=aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=size, limit_per_host=size),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ),
        httpx2_async=httpx2.AsyncClient(
            limits=httpx2.Limits(max_connections=size, max_keepalive_connections=size),
            timeout=timeout_s,
        ),
        httpx_aiohttp=HttpxAiohttpClient(limits=limits, timeout=timeout_s),
    )


def _versions() -> dict[str, str]:
    return package_versions(CLIENT_PACKAGES)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the shared clients (if an upstream is configured) and close all of them on exit."""
    settings: Settings = app.state.settings
    extra = getattr(app.state, "bench_extra", None)
    if extra is None:
        extra = app.state.bench_extra = {}
    extra["http"] = {
        "upstream_url": settings.upstream_url,
        "max_connections": settings.http_max_connections,
        "max_keepalive_connections": settings.http_max_connections,
        "timeout_s": settings.http_timeout_s,
        "requests_pool_block": True,
        "versions": _versions(),
    }
    if not settings.upstream_url:
        app.state.http_clients = None
        yield
        return
    clients = _open_clients(settings)
    app.state.http_clients = clients
    app.state.signals.register_gauge(
        "http_upstream_inflight", lambda: float(clients.inflight.value)
    )
    try:
        yield
    finally:
        app.state.http_clients = None
        await clients.aiohttp.close()
        await clients.httpx_async.aclose()
        await clients.httpx2_async.aclose()
        await clients.httpx_aiohttp.aclose()
        clients.httpx_sync.close()
        clients.session.close()


@router.get("/sync/http/requests")
def http_sync_requests(clients: Clients, latency_ms: LatencyMs = 100, size: Size = 256) -> Payload:
    return payload(latency_ms, size, fetch_requests(clients, latency_ms, size))


@router.get("/sync/http/httpx")
def http_sync_httpx(clients: Clients, latency_ms: LatencyMs = 100, size: Size = 256) -> Payload:
    return payload(latency_ms, size, fetch_httpx_sync(clients, latency_ms, size))


@router.get("/async/http/httpx")
async def http_async_httpx(
    clients: Clients, latency_ms: LatencyMs = 100, size: Size = 256
) -> Payload:
    return payload(latency_ms, size, await fetch_httpx(clients, latency_ms, size))


@router.get("/async/http/aiohttp")
async def http_async_aiohttp(
    clients: Clients, latency_ms: LatencyMs = 100, size: Size = 256
) -> Payload:
    return payload(latency_ms, size, await fetch_aiohttp(clients, latency_ms, size))


@router.get("/async/http/httpx2")
async def http_async_httpx2(
    clients: Clients, latency_ms: LatencyMs = 100, size: Size = 256
) -> Payload:
    return payload(latency_ms, size, await fetch_httpx2(clients, latency_ms, size))


@router.get("/async/http/httpx-aiohttp")
async def http_async_httpx_aiohttp(
    clients: Clients, latency_ms: LatencyMs = 100, size: Size = 256
) -> Payload:
    fetched = await fetch_httpx(clients, latency_ms, size, client=clients.httpx_aiohttp)
    return payload(latency_ms, size, fetched)


@router.get("/async/http/httpx-per-request")
async def http_async_httpx_per_request(
    clients: Clients, latency_ms: LatencyMs = 100, size: Size = 256
) -> Payload:
    # The anti-pattern: a client (SSL context, pool, connection) built and torn down per call.
    async with httpx.AsyncClient(limits=clients.limits(), timeout=clients.timeout_s) as client:
        fetched = await fetch_httpx(clients, latency_ms, size, client=client)
    return payload(latency_ms, size, fetched)


@router.get("/pitfall/http")
async def http_pitfall(clients: Clients, latency_ms: LatencyMs = 100, size: Size = 256) -> Payload:
    # The pitfall: a blocking client inside ``async def`` stalls every request on this worker.
    return payload(latency_ms, size, fetch_requests(clients, latency_ms, size))


@router.get("/fixed/http")
async def http_fixed(clients: Clients, latency_ms: LatencyMs = 100, size: Size = 256) -> Payload:
    fetched = await run_in_threadpool(fetch_requests, clients, latency_ms, size)
    return payload(latency_ms, size, fetched)
