"""The server's shape: which server, how many worker processes, which event loop and HTTP parser.

A scenario names one shape (``[server]``) or a matrix of them (``[matrix]``: lists, every
combination measured, each by its own app process); ``bench run --workers 1,2 --loop
asyncio,uvloop`` does the same from the command line. Each worker process has its own event loop,
its own 40-token thread pool and its own connection pools: the capacity model multiplies what a
worker can hold by the workers (``harness/analysis/capacity.py``).

- ``server``: ``uvicorn`` (its own supervisor for several workers) or ``gunicorn`` (an arbiter
  with uvicorn workers, from the ``uvicorn-worker`` package);
- ``workers``: 1..64 processes;
- ``loop``: ``auto`` (uvicorn's choice: uvloop when it is installed), ``asyncio`` or ``uvloop``;
- ``http``: ``auto`` (httptools when it is installed), ``h11`` or ``httptools``.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

SERVERS = ("uvicorn", "gunicorn")
LOOPS = ("auto", "asyncio", "uvloop")
HTTPS = ("auto", "h11", "httptools")
MAX_WORKERS = 64
DIMENSIONS = ("server", "workers", "loop", "http")
# the module each choice needs installed
_NEEDS = {"uvloop": "uvloop", "httptools": "httptools", "gunicorn": "uvicorn_worker"}


class ShapeError(ValueError):
    """A shape that cannot be served; the message names the field and what is allowed."""


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@dataclass(frozen=True)
class ServerShape:
    server: str = "uvicorn"
    workers: int = 1
    loop: str = "auto"
    http: str = "auto"

    def __post_init__(self) -> None:
        for name, allowed in (("server", SERVERS), ("loop", LOOPS), ("http", HTTPS)):
            value = getattr(self, name)
            if value not in allowed:
                raise ShapeError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int):
            raise ShapeError(f"workers: expected a whole number, got {self.workers!r}")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ShapeError(f"workers: must be 1..{MAX_WORKERS}, got {self.workers}")

    def check_installed(self) -> None:
        """Every choice is importable here (uvloop, httptools, gunicorn's uvicorn worker)."""
        for value in (self.server, self.loop, self.http):
            module = _NEEDS.get(value)
            if module and not installed(module):
                package = "uvicorn-worker" if module == "uvicorn_worker" else module
                raise ShapeError(f"{value} needs the package {package!r}: pip install {package}")

    @property
    def resolved_loop(self) -> str:
        """What ``auto`` means here (uvicorn picks uvloop when it can import it)."""
        if self.loop != "auto":
            return self.loop
        return "uvloop" if installed("uvloop") else "asyncio"

    @property
    def resolved_http(self) -> str:
        if self.http != "auto":
            return self.http
        return "httptools" if installed("httptools") else "h11"

    @property
    def is_default(self) -> bool:
        return self == ServerShape()

    def label(self) -> str:
        """``uvicorn, 1 worker, loop auto (uvloop), http auto (httptools)``."""
        workers = f"{self.workers} worker{'s' if self.workers > 1 else ''}"
        loop = self.loop if self.loop != "auto" else f"auto ({self.resolved_loop})"
        http = self.http if self.http != "auto" else f"auto ({self.resolved_http})"
        return f"{self.server}, {workers}, loop {loop}, http {http}"

    def part(self, dimension: str) -> str:
        """One dimension, short, for a name: ``w2``, ``uvloop``, ``h11``, ``gunicorn``."""
        value = getattr(self, dimension)
        return f"w{value}" if dimension == "workers" else str(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "workers": self.workers,
            "loop": self.loop,
            "http": self.http,
            "loop_used": self.resolved_loop,
            "http_used": self.resolved_http,
            "label": self.label(),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | None) -> ServerShape:
        """A record's shape (a run from before shapes: the default one)."""
        doc = doc or {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})


@dataclass(frozen=True)
class Matrix:
    """The values of each dimension: every combination is one shape (dimensions in
    ``DIMENSIONS`` order, the last varying fastest)."""

    values: Mapping[str, tuple[Any, ...]]

    def __post_init__(self) -> None:
        for name, values in self.values.items():
            if name not in DIMENSIONS:
                raise ShapeError(f"{name}: not a server dimension ({', '.join(DIMENSIONS)})")
            if not values:
                raise ShapeError(f"{name}: give at least one value")
            if len(set(values)) != len(values):
                raise ShapeError(f"{name}: a value is repeated in {list(values)}")
        self.shapes()  # every combination must be valid

    @classmethod
    def single(cls, shape: ServerShape | None = None) -> Matrix:
        shape = shape or ServerShape()
        return cls({name: (getattr(shape, name),) for name in DIMENSIONS})

    def over(self, values: Mapping[str, Sequence[Any]]) -> Matrix:
        """These dimensions' values replace this matrix's (the command line over the file)."""
        return Matrix({**self.values, **{k: tuple(v) for k, v in values.items()}})

    @property
    def varying(self) -> tuple[str, ...]:
        return tuple(d for d in DIMENSIONS if len(self.values.get(d, ())) > 1)

    def shapes(self) -> list[ServerShape]:
        names = [d for d in DIMENSIONS if d in self.values]
        combos = itertools.product(*(self.values[d] for d in names))
        try:
            return [ServerShape(**dict(zip(names, combo, strict=True))) for combo in combos]
        except TypeError as exc:
            raise ShapeError(str(exc)) from None

    def suffix(self, shape: ServerShape) -> str:
        """What tells this combination apart in a name: ``w2-uvloop`` ('' for a single shape)."""
        return "-".join(shape.part(d) for d in self.varying)

    def to_dict(self) -> dict[str, list[Any]]:
        return {k: list(v) for k, v in self.values.items()}


def parse_values(dimension: str, value: object) -> tuple[Any, ...]:
    """A dimension's values from TOML (a value or a list) or the command line ("1,2")."""
    if dimension not in DIMENSIONS:
        raise ShapeError(f"{dimension}: not a server dimension ({', '.join(DIMENSIONS)})")
    items = value if isinstance(value, list | tuple) else [value]
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    out: list[Any] = []
    for item in items:
        if dimension == "workers":
            if isinstance(item, str) and item.strip().isdigit():
                item = int(item)
            if isinstance(item, bool) or not isinstance(item, int):
                raise ShapeError(f"workers: expected whole numbers, got {item!r}")
        elif not isinstance(item, str) or not item:
            raise ShapeError(f"{dimension}: expected names, got {item!r}")
        out.append(item)
    if not out:
        raise ShapeError(f"{dimension}: give at least one value")
    return tuple(out)
