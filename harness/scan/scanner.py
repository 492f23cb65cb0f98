"""Load a user's app (as ``bench run --app`` would) and read it: routes, suspects, a starter."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from harness.errors import BenchError
from harness.scan.routes import Route, routes
from harness.scan.starter import starter
from harness.scan.suspects import Suspect, suspects
from target_app.foreign import AppLoadError, AppSpec, load


@dataclass(frozen=True)
class Scan:
    spec: AppSpec
    routes: list[Route]
    suspects: list[Suspect]
    scenario: str  # the starter scenario file's text


def scan(spec: AppSpec, env: Mapping[str, str], out: Path) -> Scan:
    """Import the app with ``env`` set, list its routes, find suspects, write nothing yet."""
    os.environ.update(env)
    try:
        app = load(spec)
    except AppLoadError as exc:
        message = str(exc)
        raise BenchError(message if spec.spec in message else f"{spec.spec}: {message}") from None
    found = routes(app)
    try:
        openapi: dict[str, Any] = app.openapi() if hasattr(app, "openapi") else {}
    except Exception as exc:  # noqa: BLE001 (a schema the app cannot build is not fatal)
        openapi = {"x-error": str(exc)}
    return Scan(spec, found, suspects(found), starter(spec, found, openapi, str(out)))


def _short(where: str) -> str:
    file, _, line = where.rpartition(":")
    try:
        shown = os.path.relpath(file)
    except ValueError:
        shown = file
    return f"{shown if not shown.startswith('..') else file}:{line}" if where else ""


def routes_table(found: Scan) -> Table:
    """method, path, handler, def/async def, where it runs, dependencies."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("method", "path", "handler", "kind", "runs", "dependencies"):
        table.add_column(column)
    for r in found.routes:
        runs = "event loop" if r.handler.is_async else "thread pool"
        deps = ", ".join(
            f"{d.name} ({d.kind}{', thread pool' if not d.is_async else ''})"
            for d in r.dependencies
        )
        table.add_row(" ".join(r.methods), r.path, r.handler.name, r.handler.kind, runs, deps)
    return table


def suspects_table(found: Scan) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("route", "where", "rule", "why"):
        table.add_column(column, overflow="fold")
    for s in found.suspects:
        table.add_row(s.route, _short(s.where), s.code, s.message)
    return table
