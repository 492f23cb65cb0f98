"""The capacity model on a table of cases: a pure function, exact expected values."""

from __future__ import annotations

import math
from typing import Any

import pytest

from harness.analysis.capacity import Context, Model, ModelError, evaluate, predict

CTX = Context(threadpool_tokens=40, db_pool=10, http_connections=100, process_workers=2, cpus=1)
W2 = Context(threadpool_tokens=40, db_pool=10, http_connections=100, workers=2)


# (users, concurrency, service_ms, calls, limits, params, ctx, rps, binding)
@pytest.mark.parametrize(
    "case",
    [
        # async sleep: every user waits at once → users / latency
        (100, "users", "100", "1", (), {}, CTX, 1000.0, "users: 100"),
        # def sleep: the thread pool caps concurrency at its tokens
        (100, "threadpool", "100", "1", (), {}, CTX, 400.0, "thread pool: 40 tokens"),
        (10, "threadpool", "100", "1", (), {}, CTX, 100.0, "users: 10"),
        # time.sleep inside async def: one at a time
        (100, "serial", "100", "1", (), {}, CTX, 10.0, "event loop blocked: 1 request at a time"),
        # a DB pool of 10 caps the async driver at 10 / 50 ms
        (200, "users", "50", "1", ("db_pool",), {}, CTX, 200.0, "DB pool: 10 connections"),
        # ... and the sync one too, below its 40 tokens
        (200, "threadpool", "50", "1", ("db_pool",), {}, CTX, 200.0, "DB pool: 10 connections"),
        # asyncio.to_thread: the loop's default executor (6 threads on 2 CPUs), not the tokens
        (
            100,
            "users",
            "100",
            "1",
            ("executor_workers",),
            {"executor_workers": 6},
            CTX,
            60.0,
            "default executor: 6 threads",
        ),
        # sequential fan-out: n calls in a row
        (10, "users", "ms", "n", (), {"ms": 100, "n": 3}, CTX, 10 / 0.3, "users: 10"),
        # gather of n=4 calls under 100 connections: 25 requests at once
        (
            50,
            "users",
            "100",
            "1",
            ("http_connections / n",),
            {"n": 4},
            CTX,
            250.0,
            "HTTP client: 25 connections",
        ),
        # gather under Semaphore(2) of 3 calls: 2 rounds
        (10, "users", "100 * ceil(3 / 2)", "1", (), {}, CTX, 50.0, "users: 10"),
        # CPU-bound work on one pinned core
        (
            50,
            "cpu",
            "rounds * us / 1000",
            "1",
            (),
            {"rounds": 10000, "us": 1.0},
            CTX,
            100.0,
            "app CPUs: 1 (CPU-bound work, one per process)",
        ),
        # a process pool on one pinned core cannot use its second worker
        (50, "process_pool", "10", "1", (), {}, CTX, 100.0, "process pool on 1 CPU(s)"),
        # the per-request overhead measured on the baseline lengthens L
        (100, "users", "100", "1", (), {}, Context(overhead_ms=25.0), 800.0, "users: 100"),
        # the CPU ceiling caps everything
        (1000, "users", "100", "1", (), {}, Context(cpu_ceiling_rps=3000.0), 3000.0, "CPU"),
        # several server workers: each has its own thread pool, loop and pools
        (200, "threadpool", "100", "1", (), {}, W2, 800.0, "thread pool: 40 tokens × 2 workers"),
        (
            100,
            "serial",
            "100",
            "1",
            (),
            {},
            W2,
            20.0,
            "event loop blocked: 1 request at a time × 2 workers",
        ),
        (
            200,
            "users",
            "50",
            "1",
            ("db_pool",),
            {},
            W2,
            400.0,
            "DB pool: 10 connections × 2 workers",
        ),
        # ... but not the users: async sleep is still users / latency
        (100, "users", "100", "1", (), {}, W2, 1000.0, "users: 100"),
        # a worker that gets fewer users than the others is not modelled: 1 user, 2 workers
        (1, "serial", "100", "1", (), {}, W2, 10.0, "users: 1"),
        # CPU-bound work: one core per process (the GIL), up to the app's CPUs
        (
            50,
            "cpu",
            "10",
            "1",
            (),
            {},
            Context(cpus=4, workers=2),
            200.0,
            "app CPUs: 2 (CPU-bound work, one per process)",
        ),
        (
            50,
            "cpu",
            "10",
            "1",
            (),
            {},
            Context(cpus=1, workers=2),
            100.0,
            "app CPUs: 1 (CPU-bound work, one per process)",
        ),
        # each worker's process pool, on the app's CPUs
        (
            50,
            "process_pool",
            "10",
            "1",
            (),
            {},
            Context(cpus=2, process_workers=2, workers=2),
            200.0,
            "process pool on 2 CPU(s)",
        ),
    ],
)
def test_prediction_table(case: tuple[Any, ...]) -> None:
    users, concurrency, service_ms, calls, limits, params, ctx, rps, binding = case
    model = Model(concurrency, service_ms, calls, limits=tuple(limits))
    prediction = predict(model, users, ctx, params)
    assert prediction.rps == pytest.approx(rps)
    assert prediction.binding == binding


def test_max_rps_caps_work_held_after_the_response() -> None:
    """BackgroundTasks: the response is immediate, the thread pool holds the work for ms."""
    model = Model("threadpool", "0", max_rps="threadpool_tokens * 1000 / 100")
    p = predict(model, 10, Context(overhead_ms=1.0))
    assert p.rps == pytest.approx(400.0)
    # each worker holds its own: with 2 workers the cap doubles
    assert predict(model, 10, Context(overhead_ms=1.0, workers=2)).rps == pytest.approx(800.0)
    assert p.kind == "limit" and "thread pool" in p.binding


def test_sentence_names_the_cap() -> None:
    p = predict(Model("threadpool", "100"), 100, CTX)
    assert p.sentence("sync sleep", 390) == (
        "sync sleep: 390 RPS = 98% of 40 / 0.1 s — the thread pool is the cap"
    )
    p = predict(Model("serial", "100"), 50, CTX)
    assert "the blocked event loop is the cap" in p.sentence("pitfall sleep", 9.8)
    p = predict(
        Model("users", "100", limits=("executor_workers",)), 100, CTX, {"executor_workers": 6}
    )
    assert p.sentence("to_thread sleep", 58) == (
        "to_thread sleep: 58 RPS = 97% of 6 / 0.1 s — the default executor is the cap"
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("1 + 2 * 3", 7), ("ceil(5 / 2)", 3), ("min(4, db_pool)", 4), ("-(2 - 5)", 3), ("7 // 2", 3)],
)
def test_evaluate_arithmetic(expression: str, expected: float) -> None:
    assert evaluate(expression, {"db_pool": 10}) == expected


@pytest.mark.parametrize(
    "expression", ["__import__('os')", "db_pool.real", "unknown_name", "1 / 0", "1 +", "'a'"]
)
def test_evaluate_refuses_anything_else(expression: str) -> None:
    with pytest.raises(ModelError):
        evaluate(expression, {"db_pool": 10})


def test_zero_latency_falls_back_to_the_cpu_ceiling() -> None:
    p = predict(Model("users", "0"), 50, Context())
    assert math.isinf(p.rps)
    p = predict(Model("users", "0"), 50, Context(cpu_ceiling_rps=4000.0))
    assert p.rps == 4000.0 and p.binding == "CPU"
