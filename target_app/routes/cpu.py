"""CPU: bounded, GIL-holding CPU work, the "CPU work inside ``async def``" pitfall and its fix.

The work is a SHA-256 chain: ``digest = sha256(digest)`` ``rounds`` times, starting from
``sha256(seed)``. Its cost is linear in ``rounds`` (roughly 0.5–1 µs per round on a 2020s x86
core, so ``rounds=10000`` ≈ 10 ms and the maximum, 1 000 000, stays under ~1 s). It holds the GIL
all the time, on purpose: hashlib releases the GIL only for buffers of 2 KiB or more, and
``hashlib.pbkdf2_hmac`` releases it for the whole call, so either of those would let threads run
in parallel and flatter ``def`` endpoints. Most CPU work in a web app (pydantic validation, JSON,
templates, plain Python) holds the GIL, like this chain does. The same ``seed`` and ``rounds``
give the same digest on every endpoint.

- ``/sync/cpu``: ``def`` → runs in anyio's thread pool. The event loop is not blocked outright,
  but the worker threads and the loop take turns holding the GIL (``sys.getswitchinterval()``, 5 ms
  by default), so light requests queue behind them. Throughput stays one core's worth, however
  many threads.
- ``/async/cpu`` and ``/pitfall/cpu``: one handler, registered twice. ``async def`` computing
  inline blocks the event loop for the whole call: every other request, even ``/async/hello``,
  waits. There is no "good" inline async variant of CPU work.
- ``/fixed/cpu``: ``async def`` sends the work to a ``ProcessPoolExecutor`` with
  ``loop.run_in_executor``: the loop only waits on a pipe and stays responsive.

**The fix does not add CPU on a pinned core.** The harness pins the app process to one core with
``sched_setaffinity`` and the pool's workers inherit that affinity. The loop and the workers then
share the same core through the OS scheduler: light requests no longer wait for CPU work (loop
lag drops to scheduler latency), but CPU throughput stays at one core, minus pickling and pipe
overhead. More workers than cores add nothing there. A real gain needs the workers on other cores.

The pool is created in this family's ``lifespan`` with ``settings.process_pool_workers`` workers
and the ``fork`` start method. ``spawn`` and ``forkserver`` leave a resource-tracker (and a fork
server) process running until the app exits, so "no child processes after shutdown" could not
hold. The workers are forked during startup (a warm-up job), before any request has started a
thread. Each worker resets the signal handling it inherited from the server (see
``_init_worker``), so Ctrl-C and SIGTERM go to the server, which shuts the pool down cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import hashlib
import multiprocessing
import signal
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request

router = APIRouter(tags=["cpu"])

MAX_ROUNDS = 1_000_000
Rounds = Annotated[
    int, Query(ge=1, le=MAX_ROUNDS, description="SHA-256 rounds (linear cost, ~1 µs each)")
]
Seed = Annotated[str, Query(min_length=1, max_length=64, description="input of the chain")]

_POOL_STATE_KEY = "cpu_process_pool"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def sha256_chain(seed: bytes, rounds: int) -> str:
    """``rounds`` chained SHA-256 hashes of 32 bytes each (holds the GIL); hex of the last one."""
    digest = hashlib.sha256(seed).digest()
    sha256 = hashlib.sha256
    for _ in range(rounds):
        digest = sha256(digest).digest()
    return digest.hex()


def calibrate_us_per_round(rounds: int = 20_000, tries: int = 3, spread_s: float = 0.0) -> float:
    """CPU cost of one round on this (pinned) core, measured at start-up: the capacity model's
    service time of the CPU endpoints is ``rounds × us_per_round``. The fastest of ``tries``;
    with ``spread_s``, at least 10 tries spread over that long: on a VM the host can slow a core
    by up to 70 % for a few hundred milliseconds (seen here: 0.43 µs a round, then 0.70-0.75
    for 0.3-0.4 s, with nothing of ours on either core), and a calibration made inside such a
    spell set the CPU caps 40 % low, below what the app then served."""
    if spread_s > 0:
        tries = max(tries, 10)
    pause_s = spread_s / tries
    best = float("inf")
    for i in range(tries):
        if i and pause_s:
            time.sleep(pause_s)  # start-up, before any request: nothing waits on the loop
        start = time.perf_counter()
        sha256_chain(b"calibration", rounds)
        best = min(best, time.perf_counter() - start)
    return round(best / rounds * 1e6, 4)


def _payload(seed: str, rounds: int, digest: str) -> dict[str, int | str]:
    return {"workload": "cpu", "seed": seed, "rounds": rounds, "digest": digest}


def _init_worker() -> None:
    """Runs first in each forked worker: give the worker's lifetime back to the server.

    A forked worker inherits the server's Python signal handlers (uvicorn's ``handle_exit``
    would make it ignore SIGTERM) and the loop's wakeup fd (a signal in the worker would poke the
    server's loop). Ctrl-C reaches the whole process group: the worker ignores it and lets the
    server shut the pool down. If the server dies without shutting down, Linux sends the worker
    SIGTERM (``PR_SET_PDEATHSIG``) instead of leaving an orphan blocked on its queue. (That signal
    follows the *thread* that forked: the event-loop thread, which lives as long as the server.)
    Where there is no such signal (macOS, or prctl refused), nothing is asked: the worker stays
    in the server's process group, which the harness stops as a whole.
    """
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Create the process pool, fork its workers now, shut it down (and join them) on exit."""
    workers: int = app.state.settings.process_pool_workers
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
    )
    try:
        # With "fork", the first job starts every worker: do it before serving any request.
        await asyncio.get_running_loop().run_in_executor(pool, sha256_chain, b"warm-up", 1)
        setattr(app.state, _POOL_STATE_KEY, pool)
        if not hasattr(app.state, "bench_extra"):
            app.state.bench_extra = {}
        app.state.bench_extra["cpu"] = {
            "process_pool_workers": workers,
            "us_per_round": calibrate_us_per_round(spread_s=app.state.settings.cpu_calibration_s),
        }
        yield
    finally:
        setattr(app.state, _POOL_STATE_KEY, None)
        # shutdown(wait=True) joins the workers; off the loop so in-flight requests can finish.
        await anyio.to_thread.run_sync(
            functools.partial(pool.shutdown, wait=True, cancel_futures=True)
        )


async def _process_pool(request: Request) -> ProcessPoolExecutor:
    # async: a plain `def` dependency would cost a thread-pool hop on every request
    pool: ProcessPoolExecutor | None = getattr(request.app.state, _POOL_STATE_KEY, None)
    if pool is None:
        raise HTTPException(503, "the CPU process pool is not running (app lifespan not started)")
    return pool


@router.get("/sync/cpu")
def cpu_sync(rounds: Rounds = 10_000, seed: Seed = "bench") -> dict[str, int | str]:
    return _payload(seed, rounds, sha256_chain(seed.encode(), rounds))


@router.get("/async/cpu")
@router.get("/pitfall/cpu")
async def cpu_async(rounds: Rounds = 10_000, seed: Seed = "bench") -> dict[str, int | str]:
    # The pitfall: CPU work inside `async def` blocks the event loop for every request.
    return _payload(seed, rounds, sha256_chain(seed.encode(), rounds))


@router.get("/fixed/cpu")
async def cpu_fixed(
    pool: Annotated[ProcessPoolExecutor, Depends(_process_pool)],
    rounds: Rounds = 10_000,
    seed: Seed = "bench",
) -> dict[str, int | str]:
    loop = asyncio.get_running_loop()
    digest = await loop.run_in_executor(pool, sha256_chain, seed.encode(), rounds)
    return _payload(seed, rounds, digest)
