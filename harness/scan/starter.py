"""A starter scenario for an app: one endpoint per GET route it can call, the rest as TODOs.

Path parameters and required query values come from the OpenAPI schema (an ``example``, the
``examples``, a ``default``, the first value of an ``enum``); a path parameter of type integer
without any gets 1. A route needing a value that cannot be guessed safely (a string path
parameter, a required query value without example or default) is left as a ``# TODO`` with the
reason, like the routes that are not GET. The file loads as it is (``bench run FILE``) as soon as
it has one endpoint. FastAPI's and Starlette's own routes (``/docs``, ``/openapi.json``) are left
out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from harness.errors import BenchError
from harness.scan.routes import Route
from target_app.foreign import AppSpec


@dataclass(frozen=True)
class Target:
    """What the scenario names: the app, the file it is written to (for ``bench run FILE``),
    the folder to import it from (relative to that file, or absolute), and the names of the
    ``--env`` variables (their values are not written: they may be secrets)."""

    spec: AppSpec
    out: str
    app_dir: str = ""
    env: tuple[str, ...] = ()


def _resolve(schema: Any, openapi: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` (an enum is a component of the schema) and a lone ``anyOf``/``allOf``."""
    for _ in range(5):
        if not isinstance(schema, dict):
            return {}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            schema = openapi
            for part in ref[2:].split("/"):
                schema = schema.get(part, {}) if isinstance(schema, dict) else {}
            continue
        either = schema.get("anyOf") or schema.get("allOf") or []
        real = [s for s in either if isinstance(s, dict) and s.get("type") != "null"]
        if len(real) == 1 and len(either) <= 2:
            schema = {**schema, **real[0], "anyOf": None, "allOf": None}
            continue
        return schema
    return {}


def _example(parameter: dict[str, Any], schema: dict[str, Any]) -> Any:
    for found in (parameter.get("example"), schema.get("example"), schema.get("default")):
        if found is not None:
            return found
    examples = parameter.get("examples") or schema.get("examples")
    if isinstance(examples, dict) and examples:
        first = next(iter(examples.values()))
        return first.get("value") if isinstance(first, dict) else first
    if isinstance(examples, list) and examples:
        return examples[0]
    enum = schema.get("enum")
    return enum[0] if isinstance(enum, list) and enum else None


def _value(parameter: dict[str, Any], openapi: dict[str, Any]) -> Any:
    """A value for a parameter, or None when none is known and guessing would be wrong."""
    schema = _resolve(parameter.get("schema", {}), openapi)
    found = _example(parameter, schema)
    if found is None and parameter.get("in") == "path" and schema.get("type") == "integer":
        return 1
    return found


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _path(route: Route, operation: dict[str, Any], openapi: dict[str, Any]) -> tuple[str, str]:
    """(the path to request, "") or ("", why it cannot be requested)."""
    path, query = route.path, {}
    for parameter in operation.get("parameters", []):
        where, name = parameter.get("in"), parameter.get("name", "")
        if where not in ("path", "query") or (where == "query" and not parameter.get("required")):
            continue
        value = _value(parameter, openapi)
        if value is None:
            return "", f"no example or default for the {where} parameter {name!r}"
        if where == "path":
            filled = quote(_text(value), safe="")
            path = re.sub(rf"\{{{re.escape(name)}(:\w+)?\}}", filled, path)  # no backslash
        else:
            query[name] = _text(value)
    if "{" in path:
        return "", "a path parameter without a schema to take a value from"
    return path + (f"?{urlencode(query)}" if query else ""), ""


def _name(spec: AppSpec) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", spec.module.lower()).strip("-")
    return slug or "app"


def _toml(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _head(target: Target) -> list[str]:
    spec = target.spec
    lines = [
        f"# Written by `bench scan {spec.spec}{' --factory' if spec.factory else ''}`:",
        f"# one endpoint per GET route it could call. Run it with `bench run {target.out}`.",
        "# Each endpoint may get a capacity model (`model = { concurrency = …, service_ms = … }`,",
        "# README: How the numbers are made, Capacity model); without one the report says",
        "# 'no model given'.",
        f"name = {_toml(_name(spec))}",
        f"description = {_toml(f'Endpoints of {spec.spec}, as bench scan found them')}",
        "users = [10, 50]",
        'duration = "10s"',
        'warmup = "2s"',
        f"app = {_toml(spec.spec)}",
    ]
    if spec.factory:
        lines.append("factory = true")
    if target.app_dir:
        lines.append(f"app_dir = {_toml(target.app_dir)}")
    return lines


def _env(target: Target) -> list[str]:
    if not target.env:
        return []
    lines = ["", "# bench scan imported the app with --env; set the same for bench run (values"]
    lines += ["# not copied here, they may be secrets), or pass them with bench run --env:"]
    lines += ["# [env]"] + [f'# {name} = "…"' for name in target.env]
    return lines


def _endpoint(route: Route, path: str) -> list[str]:
    variant = "async" if route.handler.is_async else "sync"
    lines = ["", "[[endpoints]]", f"label = {_toml(route.label)}", f'variant = "{variant}"']
    return lines + [f"path = {_toml(path)}", f"note = {_toml(_note(route))}"]


def _todo(route: Route, openapi: dict[str, Any]) -> tuple[str, str]:
    """(path, "") for a route it can call, ("", why not) otherwise."""
    if route.websocket:
        return "", "a WebSocket route (the load generator sends HTTP requests)"
    if "GET" not in route.methods:
        return "", "not a GET route (add method, json, expect_status)"
    paths = openapi.get("paths", {})
    key = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # /files/{p:path}: /files/{p}
    if key not in paths:  # a plain Starlette route, a mounted app: no schema
        path = re.sub(r"\{\w+:int\}", "1", route.path)  # Starlette's int convertor
        if "{" in path:
            return "", "a path parameter without a schema to take a value from"
        return path, ""
    return _path(route, paths[key].get("get", {}), openapi)


def starter(target: Target, routes: list[Route], openapi: dict[str, Any]) -> str:
    """The scenario file's text."""
    lines, todos = _head(target), []
    for route in routes:
        if route.handler.framework:
            continue  # /docs, /openapi.json: the framework's, not the app's
        path, why = _todo(route, openapi)
        if path:
            lines += _endpoint(route, path)
        else:
            todos.append(f"# TODO: {route.label} — {why}")
    if not any(line == "[[endpoints]]" for line in lines):
        lines += ["", "# No GET route could be called as it is: turn a TODO below into an"]
        lines += ["# [[endpoints]] table (label, path; method, json, expect_status) first."]
    return "\n".join(lines + _env(target) + ([""] + todos if todos else [])) + "\n"


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
