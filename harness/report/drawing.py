"""Which charts a run gets, their data, and the pool of processes that draws them.

``jobs_for`` gathers every chart's data in this process (table slices, time series from the raw
samples, server signals: each file read once); ``Drawer`` draws the PNGs in a pool of processes,
one per CPU and never more than there are charts (matplotlib is single-threaded, and drawing
is most of a report's time), while ``build`` works out the words in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis.analyze import Analysis
from harness.analysis.samples import timeseries
from harness.report.charts import (
    Line,
    Signals,
    Timeline,
    latency_bars,
    load_curve,
    rps_bars,
    signals,
    sweep,
    timeline,
)
from harness.report.colours import palette
from harness.results import Measurement, Run
from harness.server_samples import load_metrics


def _top_level(run: Run, scenario: str) -> tuple[int, list[Measurement], dict[str, str]]:
    """The highest users level of a scenario, its first repeat's measurements, the colours;
    a scenario measured only by rates (the open model): its highest offered rate's."""
    measurements = [m for m in run.measurements if m.scenario == scenario and m.status == "ok"]
    closed = [m for m in measurements if not m.rate]
    if closed:
        top = max(m.users for m in closed)
        chosen = [m for m in closed if m.users == top and m.repeat == 0]
    else:
        top_rate = max((m.rate for m in measurements), default=0.0)
        chosen = [m for m in measurements if m.rate == top_rate and m.repeat == 0]
        top = chosen[0].users if chosen else 0
    frame = pd.DataFrame(
        {
            "endpoint": [m.endpoint for m in measurements],
            "variant": [m.variant for m in measurements],
        }
    )
    return top, chosen, palette(frame)


def timeline_of(run_dir: Path, run: Run, scenario: str) -> Timeline:
    """Successful requests per second over time, per endpoint, from the raw samples."""
    top, chosen, colours = _top_level(run, scenario)
    lines = []
    for m in chosen:
        series = timeseries(run_dir, m)
        lines.append(
            Line(m.endpoint, colours[m.endpoint], series["t"].to_numpy(), series["rps"].to_numpy())
        )
    warmup = max((m.warmup_s for m in chosen), default=0.0)
    return Timeline(scenario, top, warmup, lines, _level(chosen))


def _level(chosen: list[Measurement]) -> str:
    """ "50 users" or "800 req/s offered": where the time charts were measured."""
    return chosen[0].level if chosen else ""


def signals_of(run_dir: Path, run: Run, scenario: str) -> Signals | None:
    """Loop lag, thread-pool tokens in use and app CPU over time, from the server's series."""
    top, chosen, colours = _top_level(run, scenario)
    lag, busy, cpu = [], [], []
    workers = 1  # several: the series are merged (sums, and the worst loop): the titles say so
    for m in chosen:
        series = load_metrics(run_dir, m)
        if not series:
            continue
        workers = max(workers, *(s.workers for s in series))
        t = np.array([s.t for s in series]) - m.window_start
        cpu_s = np.array([s.cpu_s for s in series])
        colour = colours[m.endpoint]
        lag.append(Line(m.endpoint, colour, t, np.array([s.loop_lag_max_ms for s in series])))
        busy.append(Line(m.endpoint, colour, t, np.array([s.threadpool_busy_max for s in series])))
        share = np.diff(cpu_s) / np.maximum(np.diff(t), 1e-6) * 100
        cpu.append(Line(m.endpoint, colour, t[1:], share))
    return Signals(scenario, top, lag, busy, cpu, _level(chosen), workers) if lag else None


@dataclass(frozen=True)
class Job:
    """One PNG to draw: a drawing function of this module and its (small, picklable) data."""

    scenario: str
    draw: Callable[..., Path | None]
    args: tuple[Any, ...]


def jobs_for(analysis: Analysis) -> list[Job]:
    """Every chart of the run, its data already computed (workers read no file)."""
    run_dir, run, table = analysis.run_dir, analysis.run, analysis.table
    jobs: list[Job] = []
    for scenario in dict.fromkeys(table["scenario"]) if len(table) else []:
        data = table[table["scenario"] == scenario]
        closed = data[data["rate"] == 0]  # users levels; the open model's rows: load_curve
        if len(closed):
            jobs += [
                Job(scenario, rps_bars, (closed, scenario, run_dir / f"rps-{scenario}.png")),
                Job(scenario, sweep, (closed, scenario, run_dir / f"sweep-{scenario}.png")),
                Job(
                    scenario, latency_bars, (closed, scenario, run_dir / f"latency-{scenario}.png")
                ),
            ]
        if len(closed) < len(data):
            jobs.append(
                Job(scenario, load_curve, (data, scenario, run_dir / f"load-{scenario}.png"))
            )
        jobs.append(
            Job(
                scenario,
                timeline,
                (timeline_of(run_dir, run, scenario), run_dir / f"timeline-{scenario}.png"),
            )
        )
        found = signals_of(run_dir, run, scenario)
        if found is not None:
            jobs.append(Job(scenario, signals, (found, run_dir / f"signals-{scenario}.png")))
    return jobs


def _leave_sigint() -> None:
    """Ctrl-C is the parent's to handle: it stops the pool; workers must not print tracebacks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _draw(job: Job) -> Path | None:
    return job.draw(*job.args)


def usable_cpus() -> int:
    """The CPUs this process may use; where the OS cannot say (macOS: no ``sched_getaffinity``),
    the CPUs it has."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class Drawer:
    """Draws chart jobs in a pool of processes, one per CPU (inline on a single CPU).

    Workers are forked from this process, which has matplotlib loaded already; they start with
    the first job submitted."""

    def __init__(self, processes: int | None = None) -> None:
        self.processes = usable_cpus() if processes is None else processes
        self.pool: ProcessPoolExecutor | None = None
        self.jobs: list[Job] = []
        self.pending: list[Future[Path | None]] = []

    def __enter__(self) -> Drawer:
        if self.processes >= 2:
            context = multiprocessing.get_context("fork")
            self.pool = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=context, initializer=_leave_sigint
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, jobs: list[Job]) -> None:
        self.jobs += jobs
        if self.pool is not None:
            self.pending += [self.pool.submit(_draw, job) for job in jobs]

    def files(self) -> dict[str, list[str]]:
        """File names per scenario, in drawing order; a chart that failed raises here."""
        if self.pool is not None:
            drawn = [future.result() for future in self.pending]
        else:
            drawn = [_draw(job) for job in self.jobs]
        charts: dict[str, list[str]] = {}
        for job, path in zip(self.jobs, drawn, strict=True):
            names = charts.setdefault(job.scenario, [])
            if path is not None:
                names.append(path.name)
        return charts


def draw_all(analysis: Analysis, processes: int | None = None) -> dict[str, list[str]]:
    """Every chart of the run (see ``Drawer``); file names per scenario."""
    with Drawer(processes) as drawer:
        drawer.submit(jobs_for(analysis))
        return drawer.files()
