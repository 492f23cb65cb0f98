"""The distributed mode's pure parts: what workers send, how the master merges it.

Locust's own master/worker mode runs the users (``--loadgen-processes``, ``bench worker``);
this module holds what the harness adds on top, apart from Locust so that it can be tested:

- the messages (Locust custom messages, ``runner.send_message``): the master announces the
  window's edges (``MSG_WINDOW``: ``{"start": t}``, then ``{"end": t}``); each worker streams its
  raw samples (``MSG_SAMPLES``: ``{"rows": […], "final": False}`` every ``CHUNK_S``), and once it
  heard of the window's end, the rest with its own record (``{"rows", "final": True, "meta"}``);
- ``Outbox``: a worker's samples not yet sent, in chunks of at most ``MAX_ROWS``;
- ``WorkerWindow``: a worker's view of the master's window (its CPU share, its requests in
  flight at the end); ``drive_master``: the master's window, which waits for every final chunk;
- ``Gather``: the master's merge. A row gets its worker's index as a last column and a user index
  unique over the workers (``global_user``: local index × workers + worker), so fairness and the
  censored requests work as with one process; ``summary`` aggregates the workers' records (the
  worst CPU share and lag, every share kept, every request in flight at the end).

Nothing here touches a file: the master alone writes (``locustfiles/recorder.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from locustfiles import protocol as p
from locustfiles.window import InFlight, Sample, Window

MSG_SAMPLES = "bench_samples"  # worker → master
MSG_WINDOW = "bench_window"  # master → workers
CHUNK_S = 0.5  # a worker sends its new samples this often
MAX_ROWS = 20_000  # rows per message at most (a message stays small whatever the rate)
FINAL_WAIT_S = 15.0  # how long the master waits for the workers' final chunks
POLL_S = 0.05
# a worker's own record, sent with its final chunk (and kept per worker in the meta)
WORKER_KEYS = (
    p.LOADGEN_CPU_S,
    p.LOADGEN_CPU_SHARE,
    p.LOADGEN_LAG_MAX_MS,
    p.LOADGEN_LAG_P99_MS,
    p.LOADGEN_LAG_TICKS,
    p.LOCUST_CPU_WARNING,
    p.SAMPLES,
)

Row = list[Any]  # a Sample as a message carries it (msgpack turns tuples into lists)
Tagged = tuple[Any, ...]  # a Sample and its worker's index (the master's rows)


def global_user(user: int, worker: int, workers: int) -> int:
    """A user index unique over the workers (-1, unknown, stays -1)."""
    return user if user < 0 else user * max(workers, 1) + worker


def tag(rows: Iterable[Sequence[Any]], worker: int, workers: int) -> list[Tagged]:
    """A worker's rows as the master keeps them: the user made global, the worker appended."""
    tagged: list[Tagged] = []
    for row in rows:
        values = list(row)
        values[6] = global_user(int(values[6]), worker, workers)
        tagged.append((*values, worker))
    return tagged


def merge(rows: Iterable[Sequence[Any]]) -> list[Sequence[Any]]:
    """Rows in completion order (start + response time), as one process records them; a stable
    sort, so a worker's rows that complete together keep their order."""
    return sorted(rows, key=lambda row: float(row[0]) + float(row[1]) / 1000.0)


@dataclass
class Outbox:
    """Which of a worker's samples the master has: the first ``sent`` of the list."""

    sent: int = 0

    def take(self, samples: Sequence[Sample], limit: int = MAX_ROWS) -> list[Row]:
        rows = samples[self.sent : self.sent + limit]
        self.sent += len(rows)
        return [list(row) for row in rows]

    def chunks(self, samples: Sequence[Sample], limit: int = MAX_ROWS) -> list[list[Row]]:
        """Every sample not yet sent, in chunks (at least one, maybe empty: the final)."""
        found = [self.take(samples, limit)]
        while len(found[-1]) == limit:
            found.append(self.take(samples, limit))
        return found


@dataclass
class WorkerWindow:
    """A worker's side of the master's window: told its start and its end, it measures its
    own CPU share over it and notes its requests in flight at the end. The lag meter
    (``locustfiles/stall.py``) reads the same ``meta``."""

    meta: dict[str, Any]
    in_flight: InFlight
    clock: Callable[[], float] = time.time
    cpu_clock: Callable[[], float] = time.process_time
    _opened: tuple[float, float] | None = None

    def open(self, start: float) -> None:
        self.meta[p.MEASURE_START] = start
        self._opened = (self.clock(), self.cpu_clock())

    def close(
        self, end: float, cpu_warning: bool, samples: int, done: Sequence[Sample] = ()
    ) -> dict[str, Any]:
        """The worker's record over the window (``WORKER_KEYS`` and its requests in flight at
        ``end``; ``done``: its samples so far, newest last)."""
        self.meta[p.MEASURE_END] = end
        self.meta[p.IN_FLIGHT_AT_END] = in_flight_at(end, self.in_flight.snapshot(), done)
        wall, cpu = 0.0, 0.0
        if self._opened is not None:
            wall = self.clock() - self._opened[0]
            cpu = self.cpu_clock() - self._opened[1]
        self.meta[p.LOADGEN_CPU_S] = cpu
        self.meta[p.LOADGEN_CPU_SHARE] = cpu / wall if wall > 0 else 0.0
        self.meta[p.LOCUST_CPU_WARNING] = cpu_warning
        self.meta[p.SAMPLES] = samples
        record = {key: self.meta[key] for key in WORKER_KEYS if key in self.meta}
        record[p.IN_FLIGHT_AT_END] = self.meta[p.IN_FLIGHT_AT_END]
        return record


HEARD_LATE_S = 1.0  # samples completed this long before the end: none was in flight at it


def in_flight_at(end: float, current: list[list[Any]], done: Sequence[Sample]) -> list[list[Any]]:
    """``[[start, name, user], …]`` in flight at ``end``, as a worker that hears of the end a
    moment after it can know them: those still in flight that began by then, and those that
    completed since (the newest samples). A worker that heard late (its core busy with the
    others) once reported none: its users' requests in flight at the end had completed."""
    found = [item for item in current if item[0] <= end]
    for row in reversed(done):
        start, elapsed_ms, name, user = row[0], row[1], row[5], row[6]
        finished = start + elapsed_ms / 1000.0
        if finished <= end - HEARD_LATE_S:
            break
        if start <= end < finished:
            found.append([start, name, user])
    return sorted(found, key=lambda item: (item[0], item[2]))


@dataclass
class Gather:
    """The master's merge of its ``workers`` workers' chunks into ``rows``."""

    workers: int
    rows: list[Tagged] = field(default_factory=list)
    finals: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: int = 0

    def add(self, worker: int, doc: Mapping[str, Any]) -> None:
        tagged = tag(doc.get("rows", ()), worker, self.workers)
        self.rows.extend(tagged)
        self.errors += sum(1 for row in tagged if row[4])
        if doc.get("final"):
            self.finals[worker] = dict(doc.get("meta") or {})

    def missing(self) -> list[int]:
        return [w for w in range(self.workers) if w not in self.finals]

    def summary(self, wait_s: float = FINAL_WAIT_S) -> dict[str, Any]:
        """The meta keys the workers' records make (see ``aggregate``)."""
        return aggregate(self.finals, self.workers, wait_s)


def aggregate(finals: Mapping[int, Mapping[str, Any]], workers: int, wait_s: float) -> dict:
    """One measurement's generator record from its workers': the worst CPU share and lag (what
    the saturation flag and the lag rule judge), every share by worker index, every request in
    flight at the end (users made global), and an error naming the workers that never sent
    their final chunk."""
    indexes = range(workers)
    shares = [float(finals.get(w, {}).get(p.LOADGEN_CPU_SHARE, 0.0)) for w in indexes]
    out: dict[str, Any] = {
        p.LOADGEN_CPU_SHARES: shares,
        p.LOADGEN_CPU_SHARE: max(shares, default=0.0),
        p.LOADGEN_CPU_S: max(
            (float(f.get(p.LOADGEN_CPU_S, 0.0)) for f in finals.values()), default=0.0
        ),
        p.LOCUST_CPU_WARNING: any(bool(f.get(p.LOCUST_CPU_WARNING)) for f in finals.values()),
        p.WORKERS: [
            {"worker": w, **{k: v for k, v in finals[w].items() if k != p.IN_FLIGHT_AT_END}}
            for w in indexes
            if w in finals
        ],
    }
    for key in (p.LOADGEN_LAG_MAX_MS, p.LOADGEN_LAG_P99_MS):
        found = [float(f[key]) for f in finals.values() if key in f]
        if found:
            out[key] = max(found)
    ticks = [int(f[p.LOADGEN_LAG_TICKS]) for f in finals.values() if p.LOADGEN_LAG_TICKS in f]
    if ticks:
        out[p.LOADGEN_LAG_TICKS] = sum(ticks)
    in_flight = [
        [start, name, global_user(int(user), w, workers)]
        for w, f in finals.items()
        for start, name, user in f.get(p.IN_FLIGHT_AT_END, ())
    ]
    out[p.IN_FLIGHT_AT_END] = sorted(in_flight, key=lambda item: (item[0], item[2]))
    missing = [w for w in indexes if w not in finals]
    if missing:
        names = ", ".join(str(w) for w in missing)
        out[p.LOADGEN_ERROR] = (
            f"load-generator worker(s) {names} of {workers} sent no final samples within "
            f"{wait_s:g}s of the window's end (a worker died or lost the master)"
        )
    return out


def drive_master(
    window: Window,
    gather: Gather,
    announce: Callable[[dict[str, float]], Any],
    sleep: Callable[[float], Any],
    stop: Callable[[], Any],
    wait_s: float = FINAL_WAIT_S,
) -> None:
    """The master's window: warm up, tell the workers its start, measure, tell them its end,
    wait (at most ``wait_s``) for every worker's final chunk, record their summary and its own
    CPU share over the window (it merges every row), ``stop``."""
    meta = window.meta
    meta[p.SPAWNED_AT] = window.clock()
    sleep(window.warmup_s)
    meta[p.MEASURE_START] = start = window.clock()
    announce({"start": start})
    cpu = window.cpu_clock()
    sleep(window.duration_s)
    meta[p.MEASURE_END] = end = window.clock()
    announce({"end": end})
    share = (window.cpu_clock() - cpu) / (end - start) if end > start else 0.0
    meta[p.LOADGEN_MASTER_CPU_SHARE] = share
    deadline = window.clock() + wait_s
    while gather.missing() and window.clock() < deadline:
        sleep(POLL_S)
    meta.update(gather.summary(wait_s))
    stop()
