"""The "external API" stand-in: a tiny raw-ASGI app, served by its own uvicorn process.

It is a measurement fixture, not the subject: no framework, no middleware, no access log, a cached
payload. Each ``GET /item`` waits with ``asyncio.sleep`` (thousands of concurrent waits cost
nothing), then answers a JSON document of about ``size`` bytes, or an HTTP 500 with probability
``error_rate``.

``GET /item?latency_ms=100&jitter_ms=0&error_rate=0&size=256&hang_rate=0&hang_ms=30000``
    Per-request values override the process defaults (``BENCH_UPSTREAM_*`` or the CLI). The wait
    is uniform in ``[latency - jitter, latency + jitter]`` (never below 0); with probability
    ``hang_rate`` the call "hangs" instead: it waits ``hang_ms`` (a slow dependency, for the
    timeouts family). The wait actually applied is returned in the ``x-upstream-delay-ms``
    header. Bad values answer 422.

Every wait is bounded: ``latency_ms`` and ``jitter_ms`` by ``MAX_LATENCY_MS`` (10 s), ``hang_ms``
by ``MAX_HANG_MS`` (30 s, the load generator's per-request timeout), so even a caller without a
timeout gets an answer and a load test always ends. The hang and error draws come from one
generator, seeded by ``seed``: with a seed, the same sequence of requests hangs and fails the same
way.
``GET /health``
    ``{"status": "ok"}``, for readiness checks.

Run it: ``python -m target_app.upstream --port 8001 --latency-ms 100``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import ipaddress
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_LATENCY_MS = 10_000.0
MAX_HANG_MS = 30_000.0  # a "hung" call still answers: the load generator gives up at 30 s
MAX_PAYLOAD_BYTES = 1_000_000
DELAY_HEADER = b"x-upstream-delay-ms"


class UpstreamSettings(BaseSettings):
    """Defaults of the upstream process; each request may override them in its query string."""

    model_config = SettingsConfigDict(env_prefix="BENCH_UPSTREAM_", extra="ignore")

    latency_ms: float = Field(
        default=100.0, ge=0, le=MAX_LATENCY_MS, description="wait before answering"
    )
    jitter_ms: float = Field(
        default=0.0, ge=0, le=MAX_LATENCY_MS, description="uniform ± around latency"
    )
    error_rate: float = Field(default=0.0, ge=0, le=1, description="probability of an HTTP 500")
    payload_bytes: int = Field(
        default=256, ge=0, le=MAX_PAYLOAD_BYTES, description="JSON body size"
    )
    hang_rate: float = Field(
        default=0.0, ge=0, le=1, description="probability that a call hangs for hang_ms"
    )
    hang_ms: float = Field(
        default=MAX_HANG_MS, ge=0, le=MAX_HANG_MS, description="wait of a hanging call"
    )
    seed: int | None = Field(
        default=None, description="seed of the jitter/hang/error generator (None = random)"
    )


class BadParameter(ValueError):
    """A query parameter that is not a number or is out of its bounds (answered with 422)."""


@dataclass(frozen=True)
class ItemRequest:
    latency_ms: float
    jitter_ms: float
    error_rate: float
    size: int
    hang_rate: float = 0.0
    hang_ms: float = MAX_HANG_MS


def _number(
    params: dict[str, str], name: str, default: float, low: float, high: float, integer: bool
) -> float:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a {'integer' if integer else 'number'}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise BadParameter(f"{name} must be between {low:g} and {high:g}")
    return value


def parse_item_request(query_string: bytes, settings: UpstreamSettings) -> ItemRequest:
    """Query string → validated parameters, with the process defaults for missing ones."""
    params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return ItemRequest(
        latency_ms=_number(params, "latency_ms", settings.latency_ms, 0, MAX_LATENCY_MS, False),
        jitter_ms=_number(params, "jitter_ms", settings.jitter_ms, 0, MAX_LATENCY_MS, False),
        error_rate=_number(params, "error_rate", settings.error_rate, 0, 1, False),
        size=int(_number(params, "size", settings.payload_bytes, 0, MAX_PAYLOAD_BYTES, True)),
        hang_rate=_number(params, "hang_rate", settings.hang_rate, 0, 1, False),
        hang_ms=_number(params, "hang_ms", settings.hang_ms, 0, MAX_HANG_MS, False),
    )


@functools.lru_cache(maxsize=64)
def payload(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (the smallest possible one if ``size`` is tiny)."""
    skeleton = json.dumps({"ok": True, "size": size, "data": ""}, separators=(",", ":"))
    return skeleton.replace('""', '"' + "x" * max(0, size - len(skeleton)) + '"').encode()


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


async def _respond(
    send: Send, status: int, body: bytes, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _route(path: str, method: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]] | None:
    """The answer to anything but ``GET /item``: health, 404, 405; None for an item request."""
    if path not in ("/item", "/health"):
        return 404, _json({"error": "not found"}), []
    if method not in ("GET", "HEAD"):
        return 405, _json({"error": "method not allowed"}), [(b"allow", b"GET")]
    if path == "/health":
        return 200, _json({"status": "ok"}), []
    return None


def _delay_ms(
    item: ItemRequest, uniform: Callable[[float, float], float], draw: Callable[[], float]
) -> float:
    """The wait of one call: latency ± jitter (never below 0), or ``hang_ms`` if it hangs."""
    delay_ms = item.latency_ms
    if item.jitter_ms:
        delay_ms = max(0.0, delay_ms + uniform(-item.jitter_ms, item.jitter_ms))
    if item.hang_rate and draw() < item.hang_rate:
        delay_ms = item.hang_ms
    return delay_ms


def create_upstream(
    settings: UpstreamSettings | None = None, rng: random.Random | None = None
) -> ASGIApp:
    """Build the upstream ASGI callable (serve it with uvicorn, in a process or a thread)."""
    settings = settings or UpstreamSettings()
    rng = rng or random.Random(settings.seed)
    uniform: Callable[[float, float], float] = rng.uniform
    draw: Callable[[], float] = rng.random
    error = _json({"error": "injected upstream error"})

    async def serve_item(query_string: bytes, send: Send) -> None:
        try:
            item = parse_item_request(query_string, settings)
        except BadParameter as exc:
            await _respond(send, 422, _json({"error": str(exc)}))
            return
        delay_ms = _delay_ms(item, uniform, draw)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000.0)
        delay_header = [(DELAY_HEADER, f"{delay_ms:.3f}".encode())]
        if item.error_rate and draw() < item.error_rate:
            await _respond(send, 500, error, delay_header)
            return
        await _respond(send, 200, payload(item.size), delay_header)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        early = _route(scope["path"], scope["method"])
        if early is not None:
            await _respond(send, *early)
            return
        await serve_item(scope["query_string"], send)

    return app


def _loopback(host: str) -> str:
    if host == "localhost":
        return host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{host!r} is not a loopback address: use 127.0.0.1")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m target_app.upstream",
        description="Serve the external-API stand-in. Unset options come from BENCH_UPSTREAM_*.",
    )
    parser.add_argument("--host", type=_loopback, default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, help="default wait per request")
    parser.add_argument("--jitter-ms", type=float, help="default uniform ± jitter")
    parser.add_argument("--error-rate", type=float, help="default probability of an HTTP 500")
    parser.add_argument("--payload-bytes", type=int, help="default JSON body size")
    parser.add_argument("--hang-rate", type=float, help="default probability of a hanging call")
    parser.add_argument("--hang-ms", type=float, help="default wait of a hanging call")
    parser.add_argument("--seed", type=int, help="seed of the jitter/hang/error generator")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    args = parse_args(argv)
    overrides = {
        name: getattr(args, name)
        for name in UpstreamSettings.model_fields  # each has its --option
        if getattr(args, name) is not None
    }
    try:
        settings = UpstreamSettings(**overrides)
    except ValidationError as exc:
        raise SystemExit(f"upstream: invalid settings:\n{exc}") from None
    uvicorn.run(
        create_upstream(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        server_header=False,
        date_header=False,
        lifespan="on",
        ws="none",
        backlog=4096,
    )


if __name__ == "__main__":
    main()
