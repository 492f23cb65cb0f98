"""Every route of a FastAPI or Starlette app: method, path, handler, ``def`` or ``async def``,
and its dependencies (FastAPI runs a ``def`` dependency in the thread pool, like a ``def``
route)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.errors import BenchError

BENCH_PREFIX = "/_bench"


@dataclass(frozen=True)
class Function:
    """A route handler or a dependency, and how the framework runs it."""

    name: str
    is_async: bool
    where: str  # "file.py:12" ("" for a builtin or a class without source)
    call: Callable[..., Any]

    @property
    def kind(self) -> str:
        return "async def" if self.is_async else "def"


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    path: str
    handler: Function
    dependencies: tuple[Function, ...]
    websocket: bool = False


def function(call: Callable[..., Any]) -> Function:
    """Name, async-ness and source place of a callable (a class instance: its ``__call__``)."""
    target: Any = call
    if not inspect.isfunction(target) and not inspect.ismethod(target):
        target = getattr(call, "__call__", call)  # noqa: B004
    is_async = inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)
    name = getattr(call, "__qualname__", None) or type(call).__qualname__
    try:
        file = inspect.getsourcefile(target) or ""
        line = inspect.getsourcelines(target)[1]
        where = f"{file}:{line}"
    except (OSError, TypeError):
        where = ""
    return Function(name, is_async, where, target)


def _dependencies(dependant: Any) -> Iterator[Function]:
    for dep in getattr(dependant, "dependencies", ()):
        if getattr(dep, "call", None) is not None:
            yield function(dep.call)
        yield from _dependencies(dep)


def routes(app: Any, prefix: str = "") -> list[Route]:
    """The routes of ``app``, mounts and included routers flattened, ``/_bench`` left out."""
    found = getattr(app, "routes", None)
    if found is None:
        raise BenchError(
            f"{type(app).__name__} has no routes: bench scan reads FastAPI and Starlette apps"
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
        endpoint = getattr(route, "endpoint", None)
        if endpoint is None:
            continue
        methods = tuple(sorted(getattr(route, "methods", None) or ()))
        deps = tuple(dict.fromkeys(_dependencies(getattr(route, "dependant", None))))
        websocket = type(route).__name__.startswith("APIWebSocket") or type(
            route
        ).__name__.startswith("WebSocket")
        out.append(Route(methods or ("WS",), path, function(endpoint), deps, websocket))
    return out
