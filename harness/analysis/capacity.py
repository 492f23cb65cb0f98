"""Predicted throughput of every measurement, by Little's law: X = C / L.

- **C**, the concurrency the endpoint can really have: ``users`` for non-blocking async code,
  ``min(users, thread-pool tokens)`` for ``def``, ``1`` for blocking code inside ``async def``,
  one CPU for CPU-bound work (the GIL); further capped by every limit the scenario names (DB
  pool, HTTP connections, a semaphore…). All of these are per server worker process: with
  ``workers`` W each is multiplied by W (sync sleep with 2 workers: 2 × 40 tokens; the blocking
  pitfall: 2 requests at a time), CPU-bound work by min(W, the app's CPUs); users are not.
- **L**, the time one request holds that concurrency: the configured service time (× sequential
  calls) plus the per-request CPU cost measured on the baseline endpoint in the same run.
- **X** is capped by the CPU ceiling measured on the baseline endpoint in the same run.

Everything comes from the scenario file (``model`` of each endpoint) and the run's settings —
nothing is hard-coded per endpoint. The result says what binds: "thread pool: 40 tokens".
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Names a limit expression may use, and how the sentence names them.
LIMIT_NAMES = {
    "threadpool_tokens": "thread pool: {:g} tokens",
    "db_pool": "DB pool: {:g} connections",
    "http_connections": "HTTP client: {:g} connections",
    "process_workers": "process pool: {:g} workers",
    # asyncio's default executor (to_thread, run_in_executor(None, …)): reported by the app
    "executor_workers": "default executor: {:g} threads",
    "cpus": "app CPUs: {:g}",
    "semaphore": "semaphore: {:g}",
}
_OPS: dict[type, Callable[..., float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.USub: operator.neg,
}
_FUNCS: dict[str, Callable[..., float]] = {
    "ceil": math.ceil,
    "floor": math.floor,
    "min": min,
    "max": max,
}


class ModelError(ValueError):
    pass


class _Arithmetic(ast.NodeVisitor):
    """Evaluates the few node types an arithmetic model expression may hold."""

    def __init__(self, expression: str, names: Mapping[str, float]) -> None:
        self.expression, self.names = expression, names

    def visit_Expression(self, node: ast.Expression) -> float:
        return float(self.visit(node.body))

    def visit_Constant(self, node: ast.Constant) -> float:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            return self.generic_visit(node)
        return float(node.value)

    def visit_Name(self, node: ast.Name) -> float:
        if node.id not in self.names:
            raise ModelError(f"unknown name {node.id!r} in {self.expression!r}")
        return float(self.names[node.id])

    def visit_BinOp(self, node: ast.BinOp) -> float:
        if type(node.op) not in _OPS:
            return self.generic_visit(node)
        return float(_OPS[type(node.op)](self.visit(node.left), self.visit(node.right)))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> float:
        if type(node.op) not in _OPS:
            return self.generic_visit(node)
        return float(_OPS[type(node.op)](self.visit(node.operand)))

    def visit_Call(self, node: ast.Call) -> float:
        func = _FUNCS.get(node.func.id) if isinstance(node.func, ast.Name) else None
        if func is None or node.keywords:
            return self.generic_visit(node)
        return float(func(*(self.visit(a) for a in node.args)))

    def generic_visit(self, node: ast.AST) -> float:
        raise ModelError(f"unsupported expression {self.expression!r}")


def evaluate(expression: str, names: Mapping[str, float]) -> float:
    """Arithmetic on numbers and known names only (``+ - * / //``, ceil, floor, min, max)."""
    try:
        tree = ast.parse(str(expression), mode="eval")
    except SyntaxError:
        raise ModelError(f"not an arithmetic expression: {expression!r}") from None
    try:
        return float(_Arithmetic(str(expression), names).visit(tree))
    except ZeroDivisionError:
        raise ModelError(f"division by zero in {expression!r}") from None


@dataclass(frozen=True)
class Context:
    """The run's settings that bound concurrency, and the baseline it measured."""

    threadpool_tokens: float = 40
    db_pool: float = 10
    http_connections: float = 100
    process_workers: float = 1
    cpus: float = 1
    workers: float = 1  # server worker processes: each has its own loop, thread pool and pools
    overhead_ms: float = 0.0  # per-request CPU cost, from the baseline (1000 / ceiling RPS)
    cpu_ceiling_rps: float | None = None  # baseline RPS of the same kind, if measured

    def names(self) -> dict[str, float]:
        return {
            k: float(v)
            for k, v in {
                "threadpool_tokens": self.threadpool_tokens,
                "db_pool": self.db_pool,
                "http_connections": self.http_connections,
                "process_workers": self.process_workers,
                "cpus": self.cpus,
            }.items()
        }


@dataclass(frozen=True)
class Prediction:
    rps: float
    concurrency: float
    latency_ms: float
    binding: str  # what caps it, in words: "thread pool: 40 tokens", "CPU", "users: 50"
    kind: str  # users | threadpool | loop | limit | cpu

    def sentence(self, label: str, measured_rps: float) -> str:
        """ "sync sleep: 390 RPS = 97% of 40 threads / 0.1 s — the thread pool is the cap" """
        ratio = measured_rps / self.rps if self.rps else float("nan")
        if self.kind == "cpu" and self.binding == "CPU":
            how = f"the CPU ceiling measured on the baseline ({self.rps:,.0f} RPS)"
        else:
            how = f"{self.concurrency:g} / {self.latency_ms / 1000:.3g} s"
        cap = {
            "users": "the users are the cap (more load would go faster)",
            "threadpool": "the thread pool is the cap",
            "loop": "the blocked event loop is the cap (one request at a time)",
            "limit": f"the {self.binding.split(':')[0]} is the cap",
            "cpu": "the app's CPU is the cap",
        }[self.kind]
        return f"{label}: {measured_rps:,.0f} RPS = {ratio:.0%} of {how} — {cap}"


@dataclass(frozen=True)
class Model:
    """An endpoint's capacity model, as its scenario file writes it (expressions as text)."""

    concurrency: str = "users"  # users | threadpool | serial | cpu | process_pool
    service_ms: str = "0"
    calls: str = "1"
    max_rps: str = ""
    limits: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Model:
        return cls(
            concurrency=str(record.get("concurrency", "users")),
            service_ms=str(record.get("service_ms", "0")),
            calls=str(record.get("calls", "1")),
            max_rps=str(record.get("max_rps", "") or ""),
            limits=tuple(str(limit) for limit in record.get("limits", ())),
        )


def predict(
    model: Model,
    users: int,
    context: Context,
    parameters: Mapping[str, Any] | None = None,
) -> Prediction:
    """Little's law for one measurement; pure, so it is tested on a table of exact cases."""
    names = {
        **context.names(),
        **{k: float(v) for k, v in (parameters or {}).items() if isinstance(v, int | float)},
    }
    service = evaluate(model.service_ms, names) * evaluate(model.calls, names)
    latency = service + context.overhead_ms
    candidates = _concurrency_limits(model, users, context, names)
    # The smallest concurrency binds; on a tie, the more specific cause wins (users are last).
    c, binding, kind = min(candidates, key=lambda item: (item[0], item[2] == "users"))
    if latency <= 0:
        rps = context.cpu_ceiling_rps or math.inf
        return Prediction(rps, c, latency, "CPU", "cpu")
    rps = c / (latency / 1000.0)
    if model.max_rps:
        cap = evaluate(model.max_rps, names) * context.workers
        if cap < rps:
            first = next((n for n in LIMIT_NAMES if n in model.max_rps), "")
            what = LIMIT_NAMES[first].split(":")[0] if first else "throughput cap"
            rps, binding, kind = cap, f"{what}: {cap:,.0f} RPS held after the response", "limit"
    if context.cpu_ceiling_rps is not None and rps > context.cpu_ceiling_rps:
        return Prediction(context.cpu_ceiling_rps, c, latency, "CPU", "cpu")
    return Prediction(rps, c, latency, binding, kind)


def _concurrency_limits(
    model: Model, users: int, context: Context, names: Mapping[str, float]
) -> list[tuple[float, str, str]]:
    """Every concurrency that may bind: (value, what it is in words, kind)."""
    concurrency = model.concurrency
    w = context.workers
    candidates: list[tuple[float, str, str]] = [(float(users), f"users: {users}", "users")]
    if concurrency == "threadpool":
        tokens = context.threadpool_tokens
        label = LIMIT_NAMES["threadpool_tokens"].format(tokens)
        candidates.append((tokens * w, _per_worker(label, w), "threadpool"))
    elif concurrency == "serial":
        label = "event loop blocked: 1 request at a time"
        candidates.append((w, _per_worker(label, w), "loop"))
    elif concurrency == "cpu":
        cores = min(context.cpus, w)
        candidates.append((cores, f"app CPUs: {cores:g} (CPU-bound work, one per process)", "cpu"))
    elif concurrency == "process_pool":
        cores = min(context.process_workers * w, context.cpus)
        candidates.append((cores, f"process pool on {cores:g} CPU(s)", "limit"))
    for expression in model.limits:
        value = evaluate(expression, names)
        first = next((n for n in LIMIT_NAMES if n in expression), "limit")
        label = LIMIT_NAMES.get(first, "limit: {:g}").format(value)
        candidates.append((max(value, 0.0) * w, _per_worker(label, w), "limit"))
    return candidates


def _per_worker(label: str, workers: float) -> str:
    """``thread pool: 40 tokens`` → ``thread pool: 40 tokens × 2 workers``."""
    return label if workers == 1 else f"{label} × {workers:g} workers"
