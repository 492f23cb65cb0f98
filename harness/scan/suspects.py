"""Blocking calls in ``async def`` code, found statically: ruff's flake8-async rules (``ASYNC``:
``time.sleep``, blocking HTTP, ``open``, subprocesses) on each async route and dependency, and
the harness's own rules where ruff has none:

- ``BENCH001`` a sync database call not awaited (``sqlite3.connect``, ``psycopg.connect``, …,
  or ``.execute()``/``.commit()`` not awaited: a sync connection or session);
- ``BENCH002`` a sync HTTP session's method (``session.get(…)``: ruff's ASYNC210 knows only
  ``requests.get`` and friends);
- ``BENCH003`` a plain ``def`` helper of the same app called inline whose body blocks (one level
  deep): the call looks harmless, the helper is not.

Code handed to ``run_in_threadpool``/``to_thread``/``run_in_executor`` is passed, not called, so
it is not flagged.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.errors import BenchError
from harness.scan.routes import Function, Route

DB_CONNECT = {
    "sqlite3.connect",
    "psycopg.connect",
    "psycopg2.connect",
    "pymysql.connect",
    "MySQLdb.connect",
    "mysql.connector.connect",
}
DB_METHODS = {"execute", "executemany", "commit", "rollback"}  # not on results: .scalars() is
HTTP_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "send"}
BLOCKING_IN_HELPERS = {  # what ruff would flag, were the helper async
    "time.sleep": "time.sleep",
    "requests.get": "a blocking HTTP call",
    "requests.post": "a blocking HTTP call",
    "requests.request": "a blocking HTTP call",
    "urllib.request.urlopen": "a blocking HTTP call",
    "subprocess.run": "a subprocess",
    "subprocess.check_output": "a subprocess",
}
LIBRARY = tuple(
    {os.path.realpath(sysconfig.get_paths()[k]) + os.sep for k in ("stdlib", "purelib", "platlib")}
)


@dataclass(frozen=True)
class Suspect:
    route: str  # "GET /pitfall/sleep"
    where: str  # "app/routes.py:42"
    code: str  # "ASYNC251", "BENCH001"…
    message: str


def _user_file(path: str) -> bool:
    return bool(path) and not os.path.realpath(path).startswith(LIBRARY)


def _span(fn: Function) -> tuple[str, int, int] | None:
    """(file, first line, last line) of a function in user code."""
    if not fn.where:
        return None
    file = fn.where.rpartition(":")[0]
    if not _user_file(file):
        return None
    try:
        lines, start = inspect.getsourcelines(fn.call)
    except (OSError, TypeError):
        return None
    return file, start, start + len(lines) - 1


def ruff_findings(files: list[str]) -> list[dict[str, Any]]:
    """ruff's ASYNC findings in ``files`` (ruff runs isolated: the user's config is not read)."""
    if not files:
        return []
    argv = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select"]
    argv += ["ASYNC", "--output-format", "json", "--exit-zero", *sorted(set(files))]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        return list(json.loads(done.stdout or "[]"))
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise BenchError(f"ruff could not check the app's source: {exc}") from None


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    """Every call not directly awaited (``await x.execute()`` is an async driver)."""
    awaited = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Await)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in awaited:
            yield node


def _own_rule(call: ast.Call) -> tuple[str, str] | None:
    name = _dotted(call.func)
    if name in DB_CONNECT:
        return "BENCH001", f"`{name}()` is a sync database driver: it blocks the event loop"
    if isinstance(call.func, ast.Attribute):
        owner = _dotted(call.func.value).lower()
        if call.func.attr in DB_METHODS and owner not in ("", "self"):
            return "BENCH001", f"`{_dotted(call.func)}()` not awaited: a sync DB call blocks"
        if call.func.attr in HTTP_VERBS and "session" in owner:
            return "BENCH002", f"`{_dotted(call.func)}()` on a sync HTTP session blocks"
    return None


def _tree(fn: Any) -> tuple[ast.AST, int] | None:
    try:
        lines, start = inspect.getsourcelines(fn)
        return ast.parse(textwrap.dedent("".join(lines))), start
    except (OSError, TypeError, SyntaxError):
        return None


def _helper_blocks(fn: Any) -> str:
    """Why a plain ``def`` helper blocks ("" if it does not, as far as can be seen)."""
    parsed = _tree(fn)
    if parsed is None:
        return ""
    tree, start = parsed
    for call in _calls(tree):
        name = _dotted(call.func)
        line = start + call.lineno - 1
        if name in BLOCKING_IN_HELPERS:
            return f"{BLOCKING_IN_HELPERS[name]} (`{name}`, line {line})"
        rule = _own_rule(call)
        if rule:
            return f"{rule[1].split(':')[0]} (line {line})"
    return ""


def own_findings(fn: Function, route: str) -> list[Suspect]:
    """The harness's rules on one async function's body."""
    parsed = _tree(fn.call)
    file = fn.where.rpartition(":")[0]
    if parsed is None:
        return []
    tree, start = parsed
    found = []
    scope = getattr(fn.call, "__globals__", {})
    for call in _calls(tree):
        line = start + call.lineno - 1
        rule = _own_rule(call)
        if rule:
            found.append(Suspect(route, f"{file}:{line}", *rule))
            continue
        helper = scope.get(call.func.id) if isinstance(call.func, ast.Name) else None
        if inspect.isfunction(helper) and not inspect.iscoroutinefunction(helper):
            why = _helper_blocks(helper) if _user_file(inspect.getsourcefile(helper) or "") else ""
            if why:
                message = f"calls `{helper.__name__}()` inline, a def that blocks: {why}"
                found.append(Suspect(route, f"{file}:{line}", "BENCH003", message))
    return found


def suspects(routes: list[Route]) -> list[Suspect]:
    """Blocking calls in the async routes and async dependencies, in route order."""
    spans: list[tuple[str, Function, tuple[str, int, int]]] = []
    for route in routes:
        label = f"{' '.join(route.methods)} {route.path}"
        for fn in (route.handler, *route.dependencies):
            span = _span(fn) if fn.is_async else None
            if span:
                spans.append((label, fn, span))
    findings = ruff_findings([span[0] for _, _, span in spans])
    out: list[Suspect] = []
    for label, fn, (file, first, last) in spans:
        for f in findings:
            row = int(f["location"]["row"])
            same = os.path.realpath(f["filename"]) == os.path.realpath(file)
            if same and first <= row <= last:
                out.append(Suspect(label, f"{file}:{row}", str(f["code"]), str(f["message"])))
        out += own_findings(fn, label)
    return sorted(dict.fromkeys(out), key=lambda s: (s.route, s.where))
