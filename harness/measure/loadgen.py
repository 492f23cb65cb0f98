"""The load generator: one Locust process per measurement, driven and read back.

The runner hands it a ``Job`` (endpoint, users, window); this module turns that into Locust's
command line and a ``LoadSettings`` environment (``locustfiles/protocol.py``), follows the live
progress file while Locust runs, and reads the window metadata the recorder wrote when it quit.
With a ``Cluster`` that is distributed (``harness/measure/distributed.py``) the process is a
Locust master, with its local workers beside it (each its own managed child): the master alone
writes the files read here, a worker that dies stops the measurement (``ChildDied``), and a
master still waiting for its workers after the cluster's timeout fails naming how many came.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.errors import BenchError, ChildDied
from harness.measure.distributed import (
    Cluster,
    connect_error,
    master_args,
    worker_argv,
    worker_cpus,
)
from harness.measure.processes import Children, ManagedProcess
from locustfiles.protocol import LoadSettings, Progress, RequestSpec, WindowMeta

LOCUSTFILE = Path(__file__).resolve().parents[2] / "locustfiles" / "endpoint.py"
CLIENTS = {"raw": "RawEndpointUser", "fasthttp": "FastEndpointUser"}
OPEN_USER = "OpenRateUser"  # the open model: one user whose task is the schedule
GRACE_S = 90.0  # how long past its window a load generator may take before it is stopped


class Ticker(Protocol):
    def tick(self, elapsed_s: float, count: int, errors: int, rps: float, phase: str) -> None: ...


@dataclass(frozen=True)
class Job:
    """One measurement as the load generator runs it: one endpoint, or a weighted mix."""

    id: str
    requests: tuple[RequestSpec, ...]
    users: int
    warmup_s: float
    duration_s: float
    client: str = "raw"
    timeout_s: float = 30.0
    rate: float = 0.0  # the open model's offered rate (requests/s); 0: closed, ``users`` users
    arrivals: str = "constant"
    max_in_flight: int = 2000

    @property
    def locust_users(self) -> int:
        """Locust's users: the closed model's N (plus a WebSocket endpoint's idle connections),
        or the open model's one scheduler."""
        if self.rate > 0:
            return 1
        return self.users + (self.requests[0].idle if self.requests[0].websocket else 0)

    @property
    def user_classes(self) -> list[str]:
        """Locust's user classes for this job (``locustfiles/endpoint.py`` and ``sockets.py``)."""
        if self.rate > 0:
            return [OPEN_USER]
        first = self.requests[0]
        if first.websocket:  # idle connections first: Locust spawns fixed_count users first
            return [*(["IdleWebSocketUser"] if first.idle else []), "WebSocketUser"]
        return [CLIENTS[self.client]]

    @property
    def window_s(self) -> float:
        return self.warmup_s + self.duration_s


@dataclass(frozen=True)
class Files:
    """Where one measurement's files go, inside the run folder."""

    samples: Path
    meta: Path
    progress: Path
    log: Path

    @classmethod
    def of(cls, run_dir: Path, job_id: str) -> Files:
        return cls(
            samples=run_dir / "samples" / f"{job_id}.csv",
            meta=run_dir / "samples" / f"{job_id}.meta.json",
            progress=run_dir / "logs" / f"{job_id}.progress.json",
            log=run_dir / "logs" / f"{job_id}.locust.log",
        )


@dataclass(frozen=True)
class Outcome:
    """What a finished load generator left: its window, or why there is none."""

    meta: WindowMeta | None
    error: str

    @property
    def ok(self) -> bool:
        return not self.error


def argv(job: Job, host: str) -> list[str]:
    """Locust's command line: headless, all users at once, a hard stop well past the window
    (the recorder quits at the window's end; this is the backstop)."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        *job.user_classes,
        "--headless",
        "-u",
        str(job.locust_users),
        "-r",
        str(max(job.locust_users, 1)),
        "-t",
        f"{int(job.window_s + 120)}s",
        "--host",
        host,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "0",
        "--exit-code-on-error",
        "0",
    ]


def settings(job: Job, files: Files) -> LoadSettings:
    return LoadSettings(
        requests=job.requests,
        warmup_s=job.warmup_s,
        duration_s=job.duration_s,
        samples_file=str(files.samples),
        meta_file=str(files.meta),
        progress_file=str(files.progress),
        timeout_s=job.timeout_s,
        rate=job.rate,
        arrivals=job.arrivals,
        max_in_flight=job.max_in_flight,
    )


class LoadGenerator:
    """``start`` Locust among the scenario's children, ``follow`` it to its end, ``finish``."""

    def __init__(
        self, job: Job, files: Files, host: str, cpus: Sequence[int], cluster: Cluster | None = None
    ) -> None:
        self.job, self.files, self.host, self.cpus = job, files, host, tuple(cpus)
        self.cluster = cluster if cluster is not None and cluster.distributed else None
        self.process: ManagedProcess | None = None
        self.workers: list[ManagedProcess] = []
        self.started = 0.0  # when ``follow`` began (the workers' connect timeout runs from it)

    def start(self, children: Children) -> LoadGenerator:
        env = {**os.environ, **settings(self.job, self.files).to_env()}
        command, name = argv(self.job, self.host), "locust"
        if self.cluster is not None:
            port = self.cluster.master_port()
            command, name = [*command, *master_args(self.cluster, port)], "locust master"
        self.process = children.spawn(  # nothing to clean up if the harness is gone: SIGKILL
            name,
            command,
            log_path=self.files.log,
            cpus=self.cpus,
            env=env,
            death_signal="KILL",
        )
        if self.cluster is not None:  # local workers: no settings in their environment
            host = "127.0.0.1" if self.cluster.bind in ("0.0.0.0", "::") else self.cluster.bind
            for index, cpus in enumerate(worker_cpus(self.cpus, self.cluster.local)):
                log = self.files.log.with_name(f"{self.job.id}.worker{index}.locust.log")
                worker = children.spawn(
                    f"load-generator worker {index}",
                    worker_argv(host, port),
                    log_path=log,
                    cpus=cpus,
                    death_signal="KILL",
                )
                self.workers.append(worker)
        return self

    def _check_workers(self, doc: Progress | None) -> None:
        """A local worker that failed stops the measurement; so does a master whose workers
        did not all come within the cluster's timeout."""
        for worker in self.workers:
            if not worker.running() and worker.wait(0) not in (0, None):
                why = worker.exit_reason()
                raise ChildDied(f"the {worker.name} exited during the measurement ({why})")
        if self.cluster is None or doc is None or doc.spawned_at is not None:
            return
        assert self.process is not None
        if time.monotonic() - self.started > self.cluster.connect_timeout_s:
            raise BenchError(connect_error(doc.workers, self.cluster))

    def follow(self, ticker: Ticker, check: Callable[[], None], poll_s: float = 0.25) -> str:
        """Wait for Locust, reporting live RPS; '' when it ended by itself, else the reason.
        ``check`` raises as soon as a child the run depends on has died."""
        assert self.process is not None, "start() first"
        self.started = time.monotonic()
        waiting = self.cluster.connect_timeout_s if self.cluster is not None else 0.0
        deadline = self.started + waiting + self.job.window_s + GRACE_S
        last: tuple[float, int] | None = None
        rps = 0.0
        while self.process.running():
            time.sleep(poll_s)
            check()
            if time.monotonic() > deadline:
                limit = deadline - self.started
                return f"the load generator did not finish within {limit:.0f}s; stopped"
            try:
                doc = Progress.from_dict(json.loads(self.files.progress.read_text()))
            except (OSError, ValueError, TypeError):
                self._check_workers(None)
                continue
            self._check_workers(doc)
            if last is not None and doc.t > last[0]:
                rps = (doc.count - last[1]) / (doc.t - last[0])
            last = (doc.t, doc.count)
            elapsed = time.time() - (doc.spawned_at or time.time())
            ticker.tick(elapsed, doc.count, doc.errors, rps, doc.phase)
        return ""

    def finish(self, children: Children, error: str) -> Outcome:
        """Stop the process (if still running) and read back what it wrote."""
        assert self.process is not None, "start() first"
        children.release(self.process)
        for worker in self.workers:
            children.release(worker)
        if error:
            return Outcome(None, error)
        try:
            meta = WindowMeta.from_dict(json.loads(self.files.meta.read_text()))
        except (OSError, ValueError, TypeError):
            return Outcome(None, f"the load generator wrote no results: {self._last_words()}")
        if not self.files.samples.is_file():
            return Outcome(None, f"the load generator wrote no samples: {self._last_words()}")
        if not meta.complete:
            return Outcome(None, "the load generator stopped before the measurement window ended")
        if meta.error:
            return Outcome(None, meta.error)
        return Outcome(meta, "")

    def _last_words(self) -> str:
        return (self.process.tail() if self.process else "") or "no output"
