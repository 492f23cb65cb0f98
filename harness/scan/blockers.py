"""The harness's own rules for blocking calls in ``async def`` code, where ruff's flake8-async
rules have none (read from the function's source with ``ast``, its names looked up in the
function's module when that tells more):

- ``BENCH001`` a sync database call: a sync driver's ``connect`` (``sqlite3``, ``psycopg``,
  ``psycopg2``, ``pymysql``, …), a sync SQLAlchemy ``Session``/``sessionmaker``/``Engine``, an
  ``.execute()``/``.commit()`` not awaited, an ORM session's ``.query()``/``.scalars()``…;
- ``BENCH002`` a sync HTTP session's method (``session.get(url)``, a ``requests.Session()``'s):
  ruff's ASYNC210 knows only ``requests.get`` and friends, ASYNC212 only httpx clients;
- ``BENCH003`` a plain ``def`` helper of the same app called inline whose body blocks (one level
  deep): the call looks harmless, the helper is not. A generator function counts only where a
  ``for`` or a comprehension iterates it on the loop; handed on (to ``StreamingResponse``,
  which pulls it through the thread pool) its body does not run there.

Only calls that run on the loop count: an awaited call, an ``async with``/``async for``
expression, and the body of a nested ``def`` or ``lambda`` (code handed to ``run_in_threadpool``,
``to_thread``, ``run_in_executor``: passed, not called) are left out.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

DB_CONNECT = {
    "sqlite3.connect",
    "psycopg.connect",
    "psycopg2.connect",
    "pymysql.connect",
    "MySQLdb.connect",
    "mysql.connector.connect",
    "cx_Oracle.connect",
    "oracledb.connect",
    "pyodbc.connect",
}
DB_METHODS = {"execute", "executemany", "commit", "rollback"}  # not on results: .scalars() is not
ORM_METHODS = {"query", "scalars", "scalar", "flush", "refresh", "merge"}  # on a session or `db`
ENGINE_METHODS = {"connect", "begin", "execute", "raw_connection"}
HTTP_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "send"}
SYNC_HTTP_CLIENTS = {"requests.Session", "requests.session", "urllib3.PoolManager"}
SYNC_SESSIONS = {"Session", "sessionmaker", "scoped_session"}  # sqlalchemy.orm's (not async_*)
BLOCKING_IN_HELPERS = {  # what ruff flags in async code, were the helper async
    "time.sleep": "time.sleep",
    "requests.get": "a blocking HTTP call",
    "requests.post": "a blocking HTTP call",
    "requests.request": "a blocking HTTP call",
    "urllib.request.urlopen": "a blocking HTTP call",
    "subprocess.run": "a subprocess",
    "subprocess.check_output": "a subprocess",
}


class Finding(NamedTuple):
    line: int  # in the function's file
    code: str
    message: str


class Context(NamedTuple):
    scope: dict[str, Any]  # the function's module globals
    clients: set[str]  # local names of sync HTTP sessions


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


def _function_node(fn: Callable[..., Any]) -> tuple[ast.AST, int] | None:
    """The function's own ``def`` node, and the line its source starts on."""
    try:
        lines, start = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    return node, start


def calls(function: ast.AST) -> Iterator[ast.Call]:
    """The calls that run on the loop when ``function`` runs, in source order."""
    skip: set[int] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Await):
            skip.add(id(node.value))
        elif isinstance(node, ast.AsyncWith):
            skip.update(id(item.context_expr) for item in node.items)
        elif isinstance(node, ast.AsyncFor):
            skip.add(id(node.iter))
    found: list[ast.Call] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.Lambda | ast.ClassDef):
            return  # defined here, run elsewhere (or later)
        if isinstance(node, ast.Call) and id(node) not in skip:
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for statement in getattr(function, "body", []):
        visit(statement)
    return iter(sorted(found, key=lambda c: (c.lineno, c.col_offset)))


def _lookup(name: str, scope: dict[str, Any]) -> Any:
    """``orm.Session`` → the object in the function's module (None when unknown)."""
    head, *rest = name.split(".") if name else [""]
    found = scope.get(head)
    for part in rest:
        found = getattr(found, part, None)
    return found


def _sqlalchemy(obj: Any, names: set[str]) -> bool:
    """A sync SQLAlchemy object: the class or an instance whose type is named in ``names``."""
    kind = obj if inspect.isclass(obj) else type(obj)
    module = getattr(kind, "__module__", "") or ""
    return module.startswith("sqlalchemy.") and kind.__name__ in names


def _looks_like_url(call: ast.Call) -> bool:
    first = call.args[0] if call.args else None
    if any(k.arg == "url" for k in call.keywords) or isinstance(first, ast.JoinedStr):
        return True
    if isinstance(first, ast.Constant):
        return isinstance(first.value, str)
    return "url" in dotted(first).lower() if first is not None else False


def _sync_clients(function: ast.AST) -> set[str]:
    """Local names bound to a sync HTTP session (``s = requests.Session()``, ``with … as s``)."""
    names: set[str] = set()
    for node in ast.walk(function):
        pairs: list[tuple[ast.AST, ast.AST | None]] = []
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            pairs = [(node.value, node.targets[0])]
        elif isinstance(node, ast.With):
            pairs = [(item.context_expr, item.optional_vars) for item in node.items]
        for value, target in pairs:
            made = dotted(value.func) if isinstance(value, ast.Call) else ""
            if made in SYNC_HTTP_CLIENTS and isinstance(target, ast.Name):
                names.add(target.id)
    return names


def _method_rule(call: ast.Call, attr: ast.Attribute, context: Context) -> tuple[str, str] | None:
    owner, shown = dotted(attr.value), dotted(attr)
    low = owner.lower()
    if _sqlalchemy(_lookup(owner, context.scope), {"Engine", "Connection"}) or "engine" in low:
        if attr.attr in ENGINE_METHODS:
            return "BENCH001", f"`{shown}()` on a sync SQLAlchemy engine blocks: use an AsyncEngine"
    if attr.attr in DB_METHODS and owner not in ("", "self"):
        return "BENCH001", f"`{shown}()` not awaited: a sync DB call blocks"
    sessionish = "session" in low or owner.rpartition(".")[2] == "db"
    if attr.attr in ORM_METHODS and sessionish:
        return "BENCH001", f"`{shown}()` on a sync ORM session blocks: use an AsyncSession"
    made = dotted(attr.value.func) if isinstance(attr.value, ast.Call) else ""
    client = made in SYNC_HTTP_CLIENTS or owner in context.clients
    if attr.attr in HTTP_VERBS and ("session" in low or client):
        if attr.attr in ("get", "delete") and not client and len(call.args) >= 2:
            return "BENCH001", f"`{shown}()` on a sync ORM session blocks: use an AsyncSession"
        if client or _looks_like_url(call) or attr.attr not in ("get", "delete"):
            return "BENCH002", f"`{shown}()` on a sync HTTP session blocks"
    return None


def rule(call: ast.Call, context: Context) -> tuple[str, str] | None:
    """(code, why) when ``call`` blocks the loop by one of the harness's rules."""
    name = dotted(call.func)
    if name in DB_CONNECT:
        return "BENCH001", f"`{name}()` is a sync database driver: it blocks the event loop"
    if name and _sqlalchemy(_lookup(name, context.scope), SYNC_SESSIONS):
        return "BENCH001", f"`{name}()` is a sync SQLAlchemy session: use an AsyncSession"
    if isinstance(call.func, ast.Attribute):
        return _method_rule(call, call.func, context)
    return None


def _helper_blocks(helper: Callable[..., Any]) -> str:
    """Why a plain ``def`` helper blocks ("" if it does not, as far as can be seen)."""
    parsed = _function_node(helper)
    if parsed is None:
        return ""
    node, start = parsed
    context = Context(getattr(helper, "__globals__", {}), _sync_clients(node))
    for call in calls(node):
        name = dotted(call.func)
        line = start + call.lineno - 1
        if name in BLOCKING_IN_HELPERS:
            return f"{BLOCKING_IN_HELPERS[name]} (`{name}`, line {line})"
        found = rule(call, context)
        if found:
            return f"{found[1]} (line {line})"
    return ""


def findings(fn: Callable[..., Any], own_file: Callable[[str], bool]) -> list[Finding]:
    """The harness's rules on one async function's body; ``own_file`` says which helpers are
    the app's own (their bodies are read; a library's are not)."""
    parsed = _function_node(fn)
    if parsed is None:
        return []
    node, start = parsed
    scope = getattr(fn, "__globals__", {})
    context = Context(scope, _sync_clients(node))
    iterated = _iterated_on_the_loop(node)
    found = []
    for call in calls(node):
        line = start + call.lineno - 1
        hit = rule(call, context)
        if hit:
            found.append(Finding(line, *hit))
            continue
        helper = scope.get(call.func.id) if isinstance(call.func, ast.Name) else None
        if not inspect.isfunction(helper) or inspect.iscoroutinefunction(helper):
            continue
        if inspect.isgeneratorfunction(helper) and id(call) not in iterated:
            continue  # a generator made, not run: e.g. handed to StreamingResponse (a thread)
        why = _helper_blocks(helper) if own_file(inspect.getsourcefile(helper) or "") else ""
        if why:
            message = f"calls `{helper.__name__}()` inline, a def that blocks: {why}"
            found.append(Finding(line, "BENCH003", message))
    return found


def _iterated_on_the_loop(function: ast.AST) -> set[int]:
    """The calls a plain ``for`` or a comprehension iterates: a generator's body runs there."""
    return {
        id(node.iter)
        for node in ast.walk(function)
        if isinstance(node, ast.For | ast.comprehension) and isinstance(node.iter, ast.Call)
    }
