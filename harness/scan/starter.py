"""A starter scenario for an app: one endpoint per GET route it can call, the rest as TODOs.

Path parameters and required query values come from the OpenAPI schema (an ``example``, the
``examples``, a ``default``; an integer without any gets 1); a route needing a value it cannot
guess is left as a ``# TODO`` with the reason. The file loads as it is (``bench run FILE``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from harness.errors import BenchError
from harness.scan.routes import Route
from target_app.foreign import AppSpec


def _value(parameter: dict[str, Any]) -> Any:
    """A value for a parameter, or None when none is known and guessing would be wrong."""
    schema = parameter.get("schema", {})
    for found in (parameter.get("example"), schema.get("example"), schema.get("default")):
        if found is not None:
            return found
    examples = parameter.get("examples") or schema.get("examples")
    if isinstance(examples, dict) and examples:
        first = next(iter(examples.values()))
        return first.get("value") if isinstance(first, dict) else first
    if isinstance(examples, list) and examples:
        return examples[0]
    return 1 if schema.get("type") == "integer" else None


def _path(route: Route, openapi: dict[str, Any]) -> tuple[str, str]:
    """(the path to request, "") or ("", why it cannot be requested)."""
    operation = openapi.get("paths", {}).get(route.path, {}).get("get", {})
    path, query = route.path, {}
    for parameter in operation.get("parameters", []):
        where, name = parameter.get("in"), parameter.get("name", "")
        if where not in ("path", "query") or (where == "query" and not parameter.get("required")):
            continue
        value = _value(parameter)
        if value is None:
            return "", f"no example or default for the {where} parameter {name!r}"
        if where == "path":
            path = path.replace(f"{{{name}}}", str(value))
        else:
            query[name] = value
    if "{" in path:
        return "", "a path parameter the schema does not describe"
    return path + (f"?{urlencode(query)}" if query else ""), ""


def _name(spec: AppSpec) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", spec.module.lower()).strip("-")
    return slug or "app"


def _toml(value: Any) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def starter(spec: AppSpec, routes: list[Route], openapi: dict[str, Any], source: str) -> str:
    """The scenario file's text."""
    lines = [
        f"# Written by `bench scan {spec.spec}{' --factory' if spec.factory else ''}`:",
        f"# one endpoint per GET route it could call. Run it with `bench run {source}`.",
        "# Each endpoint may get a capacity model (`model = { concurrency = …, service_ms = … }`,",
        "# README: Capacity model); without one the report says 'no model given'.",
        f"name = {_toml(_name(spec))}",
        f"description = {_toml(f'Endpoints of {spec.spec}, as bench scan found them')}",
        "users = [10, 50]",
        'duration = "10s"',
        'warmup = "2s"',
        f"app = {_toml(spec.spec)}",
    ]
    if spec.factory:
        lines.append("factory = true")
    if spec.app_dir:
        lines.append(f"app_dir = {_toml(spec.app_dir)}")
    todos = []
    for route in routes:
        label = f"{' '.join(route.methods)} {route.path}"
        if route.websocket or "GET" not in route.methods:
            todos.append(f"# TODO: {label} — not a GET route (add method, json, expect_status)")
            continue
        if not _in_schema(route, openapi):
            continue  # /docs, /openapi.json and other routes hidden from the schema
        path, why = _path(route, openapi)
        if not path:
            todos.append(f"# TODO: {label} — {why}")
            continue
        variant = "async" if route.handler.is_async else "sync"
        lines += ["", "[[endpoints]]", f"label = {_toml(label)}", f'variant = "{variant}"']
        lines += [f"path = {_toml(path)}", f"note = {_toml(_note(route))}"]
    return "\n".join(lines + ([""] + todos if todos else [])) + "\n"


def _in_schema(route: Route, openapi: dict[str, Any]) -> bool:
    return route.path in openapi.get("paths", {})


def _note(route: Route) -> str:
    runs = "on the event loop" if route.handler.is_async else "in the thread pool"
    deps = [f"{d.name} ({d.kind})" for d in route.dependencies]
    return f"{route.handler.name} ({route.handler.kind}, {runs})" + (
        f"; dependencies: {', '.join(deps)}" if deps else ""
    )


def write(path: Path, text: str, force: bool) -> Path:
    if path.exists() and not force:
        raise BenchError(f"{path} exists: pass --force to overwrite it, or --out another file")
    path.write_text(text, encoding="utf-8")
    return path
