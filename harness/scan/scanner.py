"""Load a user's app (as ``bench run --app`` would) and read it: routes, suspects, a starter."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from harness.errors import BenchError
from harness.scan.routes import Route, routes
from harness.scan.starter import Target, starter
from harness.scan.suspects import Suspect, suspects
from target_app.foreign import AppLoadError, AppSpec, load


@dataclass(frozen=True)
class Scan:
    spec: AppSpec
    routes: list[Route]
    suspects: list[Suspect]
    scenario: str  # the starter scenario file's text


def _one_line(spec: AppSpec, message: str) -> BenchError:
    return BenchError(message if spec.spec in message else f"{spec.spec}: {message}")


def _import_folder(spec: AppSpec, loaded: AppSpec, out: Path) -> str:
    """The folder the app was imported from: relative to the scenario file when it is that
    file's folder or below it, else absolute; "" when the module came from elsewhere (e.g. an
    installed package) and no --app-dir was given."""
    module = sys.modules.get(spec.module)
    file = os.path.realpath(getattr(module, "__file__", None) or "")
    folder = os.path.realpath(loaded.app_dir)
    if not spec.app_dir and not file.startswith(folder + os.sep):
        return ""
    try:
        relative = Path(os.path.relpath(folder, out.resolve().parent)).as_posix()
    except ValueError:  # another drive
        return folder
    return folder if relative.startswith("..") else relative


def scan(spec: AppSpec, env: Mapping[str, str], out: Path) -> Scan:
    """Import the app with ``env`` set (from ``spec.app_dir``, else the current folder, as
    ``python -m`` and uvicorn do), list its routes, find suspects, write nothing yet."""
    os.environ.update(env)
    loaded = spec if spec.app_dir else replace(spec, app_dir=os.getcwd())
    try:
        app = load(loaded)
        found = routes(app)
    except (AppLoadError, BenchError) as exc:
        raise _one_line(spec, str(exc)) from None
    try:
        openapi: dict[str, Any] = app.openapi() if hasattr(app, "openapi") else {}
    except Exception:  # noqa: BLE001 (a schema the app cannot build: no examples, no defaults)
        openapi = {}
    target = Target(spec, str(out), _import_folder(spec, loaded, out), tuple(sorted(env)))
    return Scan(spec, found, suspects(found), starter(target, found, openapi))


def _short(where: str) -> str:
    """``file:line``, relative to the current folder when the file is under it."""
    file, _, line = where.rpartition(":")
    if not where:
        return ""
    try:
        shown = os.path.relpath(file)
    except ValueError:
        shown = file
    return f"{file if shown.startswith('..') else shown}:{line}"


def _table(columns: tuple[str, ...]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def routes_table(found: Scan) -> Table:
    """method, path, handler, def/async def, where it runs, dependencies (and where they run)."""
    table = _table(("method", "path", "handler", "kind", "runs", "dependencies"))
    for r in found.routes:
        runs = "event loop" if r.handler.is_async else "thread pool"
        deps = ", ".join(
            f"{d.name} ({d.kind}{', thread pool' if not d.is_async else ''})"
            for d in r.dependencies
        )
        cells = (" ".join(r.methods), r.path, r.handler.name, r.handler.kind, runs, deps)
        table.add_row(*(Text(cell) for cell in cells))  # Text: no markup, no :emoji: codes
    return table


def suspects_table(found: Scan) -> Table:
    """route, file:line, rule, why."""
    table = _table(("route", "where", "rule", "why"))
    for s in found.suspects:
        table.add_row(*(Text(cell) for cell in (s.route, _short(s.where), s.code, s.message)))
    return table
