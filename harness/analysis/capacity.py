"""Predicted throughput of every measurement, by Little's law: X = C / L.

- **C**, the concurrency the endpoint can really have: ``users`` for non-blocking async code,
  ``min(users, thread-pool tokens)`` for ``def``, ``1`` for blocking code inside ``async def``
  (per server worker), the app's CPUs for CPU-bound work; further capped by every limit the
  scenario names (DB pool, HTTP connections, a semaphore…).
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

# Names a limit expression may use, and how the sentence names them.
LIMIT_NAMES = {
    "threadpool_tokens": "thread pool: {:g} tokens",
    "db_pool": "DB pool: {:g} connections",
    "http_connections": "HTTP client: {:g} connections",
    "process_workers": "process pool: {:g} workers",
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


def evaluate(expression: str, names: Mapping[str, float]) -> float:
    """Arithmetic on numbers and known names only (``+ - * / //``, ceil, floor, min, max)."""

    def visit(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return visit(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise ModelError(f"unknown name {node.id!r} in {expression!r}")
            return float(names[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return float(_OPS[type(node.op)](visit(node.left), visit(node.right)))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return float(_OPS[type(node.op)](visit(node.operand)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            func = _FUNCS.get(node.func.id)
            if func is not None and not node.keywords:
                return float(func(*(visit(a) for a in node.args)))
        raise ModelError(f"unsupported expression {expression!r}")

    try:
        return visit(ast.parse(str(expression), mode="eval"))
    except SyntaxError:
        raise ModelError(f"not an arithmetic expression: {expression!r}") from None
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


def predict(
    *,
    users: int,
    concurrency: str,
    service_ms: str,
    calls: str = "1",
    max_rps: str = "",
    limits: tuple[str, ...] | list[str] = (),
    parameters: Mapping[str, float] | None = None,
    context: Context,
) -> Prediction:
    """Little's law for one measurement; pure, so it is tested on a table of exact cases."""
    names = {
        **context.names(),
        **{k: float(v) for k, v in (parameters or {}).items() if isinstance(v, int | float)},
    }
    service = evaluate(service_ms, names) * evaluate(calls, names)
    latency = service + context.overhead_ms
    candidates: list[tuple[float, str, str]] = [(float(users), f"users: {users}", "users")]
    if concurrency == "threadpool":
        candidates.append(
            (
                context.threadpool_tokens,
                LIMIT_NAMES["threadpool_tokens"].format(context.threadpool_tokens),
                "threadpool",
            )
        )
    elif concurrency == "serial":
        candidates.append((1.0, "event loop blocked: 1 request at a time", "loop"))
    elif concurrency == "cpu":
        candidates.append((context.cpus, f"app CPUs: {context.cpus:g} (CPU-bound work)", "cpu"))
    elif concurrency == "process_pool":
        workers = min(context.process_workers, context.cpus)
        candidates.append((workers, f"process pool on {workers:g} CPU(s)", "limit"))
    for expression in limits:
        value = evaluate(expression, names)
        first = next((n for n in LIMIT_NAMES if n in expression), "limit")
        label = LIMIT_NAMES.get(first, "limit: {:g}").format(value)
        candidates.append((max(value, 0.0), label, "limit"))
    # The smallest concurrency binds; on a tie, the more specific cause wins (users are last).
    c, binding, kind = min(candidates, key=lambda item: (item[0], item[2] == "users"))
    if latency <= 0:
        rps = context.cpu_ceiling_rps or math.inf
        return Prediction(rps, c, latency, "CPU", "cpu")
    rps = c / (latency / 1000.0)
    if max_rps:
        cap = evaluate(max_rps, names)
        if cap < rps:
            first = next((n for n in LIMIT_NAMES if n in max_rps), "")
            what = LIMIT_NAMES[first].split(":")[0] if first else "throughput cap"
            rps, binding, kind = cap, f"{what}: {cap:,.0f} RPS held after the response", "limit"
    if context.cpu_ceiling_rps is not None and rps > context.cpu_ceiling_rps:
        return Prediction(context.cpu_ceiling_rps, c, latency, "CPU", "cpu")
    return Prediction(rps, c, latency, binding, kind)
