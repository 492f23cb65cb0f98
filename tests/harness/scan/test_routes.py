"""Routes as FastAPI runs them: included routers and mounts flattened, ``def`` and ``async def``
told apart for handlers and every kind of dependency, the harness's ``/_bench`` left out."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import APIRouter, Depends, FastAPI, WebSocket
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from harness.errors import BenchError
from harness.scan.routes import routes


class Checker:
    """A class dependency: FastAPI instantiates it (in the thread pool), never awaits it."""

    async def __call__(self) -> bool:
        return True


def sync_gen() -> Iterator[int]:
    yield 1


async def async_gen() -> AsyncIterator[int]:
    yield 1


async def coro(x: int = 1) -> int:
    return x


def plain(x: int = 1) -> int:
    return x


checker = Checker()


def _app() -> FastAPI:
    router = APIRouter(prefix="/v1")

    @router.get("/deps")
    async def deps(
        a: object = Depends(Checker),
        b: object = Depends(checker),
        c: object = Depends(sync_gen),
        d: object = Depends(async_gen),
        e: object = Depends(functools.partial(coro, 2)),
        f: object = Depends(functools.partial(plain, 2)),
    ) -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(router)

    @app.get("/_bench/own")
    def own() -> dict[str, str]:
        return {}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        return None

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app.mount("/star", Starlette(routes=[Mount("/in", routes=[Route("/", home)])]))
    return app


def test_dependencies_run_where_fastapi_runs_them() -> None:
    found = {r.path: r for r in routes(_app())}
    kinds = [(d.name, d.kind) for d in found["/v1/deps"].dependencies]
    assert kinds == [
        ("Checker", "def"),  # the class is called: __init__ in the thread pool
        ("Checker", "async def"),  # an instance: its async __call__
        ("sync_gen", "def"),  # a generator: the thread pool
        ("async_gen", "async def"),
        ("coro", "async def"),  # partials unwrapped
        ("plain", "def"),
    ]
    line = inspect.getsourcelines(Checker)[1]
    assert found["/v1/deps"].dependencies[0].where.endswith(f"test_routes.py:{line}")


def test_mounts_routers_and_websockets_are_listed_and_bench_routes_are_not() -> None:
    found = {r.path: r for r in routes(_app())}
    assert "/star/in/" in found and found["/star/in/"].label == "GET /star/in/"
    assert found["/star/in/"].methods == ("GET", "HEAD")
    assert found["/ws"].websocket and found["/ws"].methods == ("WS",)
    assert not [p for p in found if p.startswith("/_bench")]
    assert found["/openapi.json"].handler.framework and not found["/ws"].handler.framework


def test_an_app_without_routes_is_refused() -> None:
    async def asgi(scope: object, receive: object, send: object) -> None:
        return None

    with pytest.raises(BenchError, match="not a FastAPI or Starlette app"):
        routes(asgi)
