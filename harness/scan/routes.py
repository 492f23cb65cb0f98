"""Every route of a FastAPI or Starlette app: method, path, handler, ``def`` or ``async def``,
and its dependencies (FastAPI runs a ``def`` dependency in the thread pool, like a ``def``
route; a generator dependency too, an ``async`` generator on the loop; a class dependency is
instantiated in the thread pool)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.errors import BenchError

BENCH_PREFIX = "/_bench"
FRAMEWORKS = ("fastapi", "starlette", "fastapi_offline")  # their own routes: /docs, /openapi.json


@dataclass(frozen=True)
class Function:
    """A route handler or a dependency, and how the framework runs it."""

    name: str
    is_async: bool
    where: str  # "file.py:12" ("" for a builtin or a callable without source)
    call: Callable[..., Any]  # what runs: the function, an instance's __call__, the class

    @property
    def kind(self) -> str:
        return "async def" if self.is_async else "def"

    @property
    def framework(self) -> bool:
        """Defined by FastAPI or Starlette themselves (the docs and schema routes)."""
        module = getattr(self.call, "__module__", None) or ""
        return module.split(".")[0] in FRAMEWORKS


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    path: str
    handler: Function
    dependencies: tuple[Function, ...]
    websocket: bool = False

    @property
    def label(self) -> str:
        """``GET /items/{id}``: the HEAD Starlette adds to every GET route left out."""
        shown = [m for m in self.methods if not (m == "HEAD" and "GET" in self.methods)]
        return f"{' '.join(shown)} {self.path}"


def _unwrap(call: Any) -> Any:
    while isinstance(call, functools.partial):
        call = call.func
    return call


def function(call: Callable[..., Any]) -> Function:
    """Name, async-ness and source place of a callable, as FastAPI would run it: a class is
    instantiated (a ``def``: the thread pool), an instance runs its ``__call__``."""
    target: Any = _unwrap(call)
    if inspect.isclass(target):
        is_async = False
    else:
        if not inspect.isfunction(target) and not inspect.ismethod(target):
            target = _unwrap(getattr(target, "__call__", target))  # noqa: B004
        is_async = inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)
    name = getattr(_unwrap(call), "__qualname__", None) or type(call).__qualname__
    try:
        file = inspect.getsourcefile(target) or ""
        line = inspect.getsourcelines(target)[1]
        where = f"{file}:{line}" if file else ""
    except (OSError, TypeError):
        where = ""
    return Function(name, is_async, where, target)


def _dependencies(dependant: Any) -> Iterator[Function]:
    for dep in getattr(dependant, "dependencies", ()):
        if getattr(dep, "call", None) is not None:
            yield function(dep.call)
        yield from _dependencies(dep)


def _is_websocket(route: Any) -> bool:
    return type(route).__name__.startswith(("APIWebSocket", "WebSocket"))


def _route(route: Any, path: str) -> Route | None:
    endpoint = getattr(route, "endpoint", None)
    if endpoint is None:
        return None
    methods = tuple(sorted(getattr(route, "methods", None) or ()))
    deps = tuple(dict.fromkeys(_dependencies(getattr(route, "dependant", None))))
    websocket = _is_websocket(route)
    return Route(methods or ("WS",), path, function(endpoint), deps, websocket)


def routes(app: Any, prefix: str = "") -> list[Route]:
    """The routes of ``app``, mounts and included routers flattened, ``/_bench`` left out."""
    found = getattr(app, "routes", None)
    if found is None:
        raise BenchError(
            f"it is a {type(app).__name__} without routes, not a FastAPI or Starlette app: "
            "bench scan reads those"
        )
    out: list[Route] = []
    for route in found:
        included = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if included is not None:
            context = getattr(route, "include_context", None)
            out += routes(included, prefix + str(getattr(context, "prefix", "") or ""))
            continue
        path = prefix + str(getattr(route, "path", ""))
        if path.startswith(BENCH_PREFIX):
            continue
        sub = getattr(route, "app", None)
        if getattr(route, "routes", None) is not None and sub is not None and route is not app:
            out += routes(route, path)  # Mount
            continue
        one = _route(route, path)
        if one is not None:
            out.append(one)
    return out
