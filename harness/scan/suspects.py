"""Blocking calls in ``async def`` code, found statically: ruff's flake8-async rules (``ASYNC``:
``time.sleep``, blocking HTTP, ``open``, subprocesses, …) on the app's own source files, kept
where they fall inside an async route or async dependency, plus the harness's own rules where
ruff has none (``blockers``: sync database drivers and sessions, sync HTTP sessions, a ``def``
helper that blocks). A line ruff flags is not flagged twice."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from typing import Any

from harness.errors import BenchError
from harness.scan import blockers
from harness.scan.routes import Function, Route

LIBRARY = tuple(
    {
        os.path.realpath(sysconfig.get_paths()[k]) + os.sep
        for k in ("stdlib", "platstdlib", "purelib", "platlib")
    }
)


@dataclass(frozen=True)
class Suspect:
    route: str  # "GET /pitfall/sleep"
    where: str  # "app/routes.py:42"
    code: str  # "ASYNC251", "BENCH001"…
    message: str


@dataclass(frozen=True)
class Span:
    """An async function of the app's own code: which route it serves, and its lines."""

    route: str
    function: Function
    file: str
    first: int
    last: int


def user_file(path: str) -> bool:
    """The app's own source: not the standard library, not an installed package."""
    return bool(path) and not os.path.realpath(path).startswith(LIBRARY)


def _span(route: str, fn: Function) -> Span | None:
    file = fn.where.rpartition(":")[0]
    if not fn.is_async or not user_file(file):
        return None
    try:
        lines, start = inspect.getsourcelines(fn.call)
    except (OSError, TypeError):
        return None
    return Span(route, fn, file, start, start + len(lines) - 1)


def ruff_findings(files: list[str]) -> list[dict[str, Any]]:
    """ruff's ASYNC findings in ``files`` (ruff runs isolated: the user's config is not read)."""
    if not files:
        return []
    argv = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select"]
    argv += ["ASYNC", "--output-format", "json", "--exit-zero", *sorted(set(files))]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        found = json.loads(done.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise BenchError(f"ruff could not check the app's source: {exc}") from None
    if done.returncode != 0 or not isinstance(found, list):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"ruff could not check the app's source: {last}")
    return found


def _in_span(finding: dict[str, Any], span: Span) -> bool:
    row = int(finding["location"]["row"])
    same = os.path.realpath(finding["filename"]) == os.path.realpath(span.file)
    return same and span.first <= row <= span.last


def suspects(routes: list[Route]) -> list[Suspect]:
    """Blocking calls in the async routes and async dependencies, in route order."""
    spans = [
        span
        for route in routes
        for fn in (route.handler, *route.dependencies)
        if (span := _span(route.label, fn)) is not None
    ]
    findings = ruff_findings([span.file for span in spans])
    out: list[Suspect] = []
    for span in spans:
        flagged = {f"{span.file}:{f['location']['row']}" for f in findings if _in_span(f, span)}
        for f in findings:
            if _in_span(f, span):
                where = f"{span.file}:{f['location']['row']}"
                out.append(Suspect(span.route, where, str(f["code"]), str(f["message"])))
        for own in blockers.findings(span.function.call, user_file):
            where = f"{span.file}:{own.line}"
            if where not in flagged:
                out.append(Suspect(span.route, where, own.code, own.message))
    order = {label: i for i, label in enumerate(dict.fromkeys(s.route for s in spans))}
    return sorted(dict.fromkeys(out), key=lambda s: (order[s.route], _place(s.where)))


def _place(where: str) -> tuple[str, int]:
    file, _, line = where.rpartition(":")
    return file, int(line or 0)
