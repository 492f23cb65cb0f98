"""Background: one slow side effect done before the response, or after it with BackgroundTasks.

The side effect stands for blocking I/O the client does not need to wait for (an e-mail through
``smtplib``, an audit write through a sync SDK): ``time.sleep(ms)``, then a record in an in-memory
journal.

- ``/inline/background``: the handler does the side effect, then responds → latency ≈ ``ms``.
- ``/deferred/background``: the handler schedules it with FastAPI's ``BackgroundTasks`` and
  responds at once; Starlette runs the task after the last body chunk is sent.
- ``/background/journal``: what the side effect did (counters and the latest records), so tests
  and users can see that deferred work still happens.

Both handlers are ``def``, on purpose. The side effect is blocking, so it must not run on the
event loop; in a ``def`` handler it runs in anyio's thread pool, and Starlette runs a sync
background function in that same pool. The pair therefore differs only in *when* the work
happens relative to the response, not *where*.

BackgroundTasks is not a job queue. The task runs in the server process, holding a thread-pool
token for ``ms`` after the response; if the process dies, the work is lost. The client gets its
answer early, but the server's capacity does not grow: every request still costs ``ms`` of a
token, so throughput stays ≤ tokens / ms (40 / 0.1 s = 400/s at ``ms=100``). Once deferred tasks
hold all tokens, new ``def`` handlers wait for a token and the "fast" endpoint slows back down.
The ``background_pending`` gauge (``/_bench/metrics``) shows that backlog.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, HTTPException, Query, Request

router = APIRouter(tags=["background"])

Millis = Annotated[
    int, Query(ge=0, le=10_000, description="duration of the side effect, in milliseconds")
]
Variant = Literal["inline", "deferred"]

JOURNAL_RECORDS = 1_000
_JOURNAL_STATE_KEY = "background_journal"


class Journal:
    """Counts scheduled and completed side effects and keeps the latest records (thread-safe)."""

    def __init__(self, max_records: int = JOURNAL_RECORDS) -> None:
        self._lock = threading.Lock()
        self._records: deque[dict[str, Any]] = deque(maxlen=max_records)
        self.scheduled = 0
        self.completed = 0

    @property
    def pending(self) -> int:
        return self.scheduled - self.completed

    def schedule(self) -> int:
        """Register a side effect about to run; returns its job id (1, 2, …)."""
        with self._lock:
            self.scheduled += 1
            return self.scheduled

    def complete(self, job_id: int, variant: Variant, ms: int, elapsed_ms: float) -> None:
        record = {"job_id": job_id, "variant": variant, "ms": ms, "elapsed_ms": elapsed_ms}
        with self._lock:
            self.completed += 1
            self._records.append(record)

    def snapshot(self, limit: int) -> dict[str, Any]:
        with self._lock:
            records = list(self._records)[-limit:] if limit else []
            return {
                "scheduled": self.scheduled,
                "completed": self.completed,
                "pending": self.scheduled - self.completed,
                "records": records,
            }


def side_effect(journal: Journal, job_id: int, variant: Variant, ms: int) -> None:
    """The slow side effect: blocking wait, then a journal record with its own duration."""
    start = time.perf_counter()
    time.sleep(ms / 1000)
    journal.complete(job_id, variant, ms, round((time.perf_counter() - start) * 1000, 3))


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """A fresh journal per app, with its backlog exposed as a server-side gauge."""
    journal = Journal()
    setattr(app.state, _JOURNAL_STATE_KEY, journal)
    signals = getattr(app.state, "signals", None)
    if signals is not None:
        signals.register_gauge("background_pending", lambda: float(journal.pending))
    try:
        yield
    finally:
        setattr(app.state, _JOURNAL_STATE_KEY, None)


async def _journal(request: Request) -> Journal:
    # async: a plain `def` dependency would cost a thread-pool hop on every request
    journal: Journal | None = getattr(request.app.state, _JOURNAL_STATE_KEY, None)
    if journal is None:
        raise HTTPException(503, "the background journal is not ready (app lifespan not started)")
    return journal


JournalDep = Annotated[Journal, Depends(_journal)]


def _payload(ms: int, job_id: int) -> dict[str, int | str]:
    return {"workload": "background", "ms": ms, "job_id": job_id}


@router.get("/inline/background")
def background_inline(journal: JournalDep, ms: Millis = 100) -> dict[str, int | str]:
    job_id = journal.schedule()
    side_effect(journal, job_id, "inline", ms)  # the client waits for it
    return _payload(ms, job_id)


@router.get("/deferred/background")
def background_deferred(
    tasks: BackgroundTasks, journal: JournalDep, ms: Millis = 100
) -> dict[str, int | str]:
    job_id = journal.schedule()
    tasks.add_task(side_effect, journal, job_id, "deferred", ms)  # runs after the response
    return _payload(ms, job_id)


@router.get("/background/journal")
async def background_journal(
    journal: JournalDep,
    limit: Annotated[int, Query(ge=0, le=JOURNAL_RECORDS, description="latest records")] = 20,
) -> dict[str, Any]:
    return journal.snapshot(limit)
