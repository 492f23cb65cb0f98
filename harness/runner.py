"""Run scenarios: for each repeat × endpoint × users level, warm up, measure, collect.

One app process serves a whole scenario (like a real server: its thread pool and connection
pools stay warm); between two measurements the runner waits until the app has no request in
flight, so a blocked backlog never leaks into the next measurement. Repeats are the outer loop,
so sync and async are measured side by side in time and drift hits both alike.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import httpx

from harness import dependencies, metadata
from harness.errors import BenchError, Interrupted
from harness.metrics import MetricsPoller
from harness.results import Measurement, Run, new_run_dir, now_iso, point_latest, save
from harness.services import (
    App,
    ManagedProcess,
    Pinning,
    Services,
    ensure_port_free,
    start_app,
)
from scenarios.model import Endpoint, Scenario

LOCUSTFILE = Path(__file__).resolve().parent.parent / "locustfiles" / "endpoint.py"
CLIENTS = {"raw": "RawEndpointUser", "fasthttp": "FastEndpointUser"}


class Progress(Protocol):
    def start(self, total: int, total_s: float) -> None: ...
    def measurement(self, index: int, title: str, seconds: float) -> None: ...
    def tick(self, elapsed_s: float, count: int, errors: int, rps: float, phase: str) -> None: ...
    def done(self, title: str, rps: float, errors: int) -> None: ...
    def note(self, text: str) -> None: ...


class QuietProgress:
    def start(self, total: int, total_s: float) -> None: ...
    def measurement(self, index: int, title: str, seconds: float) -> None: ...
    def tick(self, elapsed_s: float, count: int, errors: int, rps: float, phase: str) -> None: ...
    def done(self, title: str, rps: float, errors: int) -> None: ...
    def note(self, text: str) -> None: ...


@dataclass(frozen=True)
class RunOptions:
    out: Path = Path("reports")
    port: int = 0
    client: str = "raw"
    request_timeout_s: float = 30.0
    settings: Mapping[str, Any] = field(default_factory=dict)
    dependencies: dependencies.Options = field(default_factory=dependencies.Options)
    command: tuple[str, ...] = ()
    cpus: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Step:
    scenario: Scenario
    endpoint: Endpoint
    users: int
    repeat: int

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.endpoint.label.lower()).strip("-")
        return f"{self.scenario.name}--{slug}--u{self.users}--r{self.repeat}"

    @property
    def title(self) -> str:
        return (
            f"{self.scenario.name}: {self.endpoint.label} @ {self.users} users (#{self.repeat + 1})"
        )


def calibration(scenarios: list[Scenario]) -> Scenario:
    """A short baseline (sync and async hello) measured first when a run lacks one: it gives the
    capacity model the app's CPU ceiling and per-request overhead on this machine, today."""
    from scenarios import resolve

    _, (baseline,) = resolve("baseline")
    settings = {}
    for s in scenarios:  # the same thread pool as the measured scenarios
        settings.update({k: v for k, v in s.settings.items() if k == "threadpool_tokens"})
    return replace(
        baseline.with_overrides(users=(50,), duration_s=3.0, warmup_s=1.0, repeat=1,
                                settings=settings),
        name="calibration",
        description="Calibration: the baseline measured briefly, for the capacity model",
    )  # fmt: skip


def plan(scenario: Scenario) -> Iterator[Step]:
    for repeat in range(scenario.repeat):
        for endpoint in scenario.rendered_endpoints():
            for users in scenario.users:
                yield Step(scenario, endpoint, users, repeat)


def estimate_s(scenarios: list[Scenario]) -> float:
    """Rough wall time: window + Locust start-up per measurement, app start per scenario."""
    return sum(4.0 + sum(s.warmup_s + s.duration_s + 2.5 for _ in plan(s)) for s in scenarios)


def app_env(scenario: Scenario, options: RunOptions) -> dict[str, str]:
    merged = {**scenario.settings, **options.settings}
    return {f"BENCH_{key.upper()}": str(value) for key, value in merged.items()}


def run(
    label: str, scenarios: list[Scenario], options: RunOptions, progress: Progress | None = None
) -> tuple[Path, Run]:
    """Run every scenario into a new run folder; return it (also on Ctrl-C: marked incomplete)."""
    progress = progress or QuietProgress()
    if options.client not in CLIENTS:
        raise BenchError(f"unknown load generator client {options.client!r}; use raw or fasthttp")
    dependencies.preflight(scenarios, options.dependencies)
    if options.port:
        ensure_port_free(options.port)
    run_dir = new_run_dir(options.out, label)
    for sub in ("samples", "metrics", "logs"):
        (run_dir / sub).mkdir()
    pinning = Pinning.plan(options.cpus)
    meta = metadata.collect(pinning.to_dict())
    meta["loadgen_client"] = options.client
    meta["request_timeout_s"] = options.request_timeout_s
    result = Run(
        run_id=run_dir.name,
        status="running",
        created=now_iso(),
        command=list(options.command or sys.argv),
        metadata=meta,
        scenarios=[s.to_dict() for s in scenarios],
    )
    save(run_dir, result)
    point_latest(options.out, run_dir)
    steps = [step for s in scenarios for step in plan(s)]
    progress.start(len(steps), estimate_s(scenarios))
    index = 0
    try:
        for scenario in scenarios:
            with Services() as services:
                app, scenario_record = _start_scenario(
                    scenario, services, options, run_dir, pinning
                )
                result = _replace_scenario(result, scenario_record)
                save(run_dir, result)
                for step in plan(scenario):
                    index += 1
                    progress.measurement(
                        index, step.title, step.scenario.warmup_s + step.scenario.duration_s
                    )
                    measurement = _measure(step, app, services, options, run_dir, pinning, progress)
                    result = result.with_measurement(measurement)
                    save(run_dir, result)
    except KeyboardInterrupt:
        save(run_dir, result.finish("incomplete", "interrupted (Ctrl-C)"))
        raise Interrupted(
            f"interrupted: children stopped, partial run kept (marked incomplete) in {run_dir}"
        ) from None
    except BenchError as exc:
        save(run_dir, result.finish("failed", str(exc)))
        raise
    result = result.finish("complete")
    save(run_dir, result)
    return run_dir, result


def _replace_scenario(result: Run, record: dict[str, Any]) -> Run:
    scenarios = [record if s["name"] == record["name"] else s for s in result.scenarios]
    return replace(result, scenarios=scenarios)


def _start_scenario(
    scenario: Scenario, services: Services, options: RunOptions, run_dir: Path, pinning: Pinning
) -> tuple[App, dict[str, Any]]:
    env = app_env(scenario, options)
    deps = dependencies.start(
        scenario, services, options.dependencies, run_dir, pinning, dict(options.settings)
    )
    env.update(deps.env)
    app, info = start_app(
        services,
        settings_env=env,
        log_path=run_dir / "logs" / f"{scenario.name}-app.log",
        cpus=pinning.app,
        port=options.port,
    )
    record = scenario.to_dict()
    record["app"] = info
    record["dependencies"] = deps.record
    return app, record


def _measure(
    step: Step,
    app: App,
    services: Services,
    options: RunOptions,
    run_dir: Path,
    pinning: Pinning,
    progress: Progress,
) -> Measurement:
    scenario = step.scenario
    _wait_idle(app, progress)
    samples = run_dir / "samples" / f"{step.id}.csv"
    meta_path = run_dir / "samples" / f"{step.id}.meta.json"
    progress_path = run_dir / "logs" / f"{step.id}.progress.json"
    metrics_path = run_dir / "metrics" / f"{step.id}.json"
    env = {
        **os.environ,
        "BENCH_PATH": step.endpoint.path,
        "BENCH_NAME": step.endpoint.label,
        "BENCH_WARMUP_S": str(scenario.warmup_s),
        "BENCH_DURATION_S": str(scenario.duration_s),
        "BENCH_SAMPLES_FILE": str(samples),
        "BENCH_META_FILE": str(meta_path),
        "BENCH_PROGRESS_FILE": str(progress_path),
        "BENCH_TIMEOUT_S": str(options.request_timeout_s),
    }
    window_s = scenario.warmup_s + scenario.duration_s
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        CLIENTS[options.client],
        "--headless",
        "-u",
        str(step.users),
        "-r",
        str(max(step.users, 1)),
        "-t",
        f"{int(window_s + 120)}s",
        "--host",
        app.url,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "0",
        "--exit-code-on-error",
        "0",
    ]
    locust = services.add(
        ManagedProcess(
            "locust",
            argv,
            log_path=run_dir / "logs" / f"{step.id}.locust.log",
            cpus=pinning.loadgen,
            env=env,
        ).start()
    )
    error = ""
    with MetricsPoller(f"{app.url}/_bench/metrics", interval_s=0.5) as poller:
        error = _follow(locust, progress_path, window_s, progress)
    poller.save(metrics_path)
    services.children.remove(locust)
    locust.stop()
    meta: dict[str, Any] = {}
    if not error:
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError):
            error = f"the load generator wrote no results: {locust.tail() or 'no output'}"
    if not error and not samples.is_file():
        error = f"the load generator wrote no samples: {locust.tail() or 'no output'}"
    if not error and "measure_end" not in meta:
        error = "the load generator stopped before the measurement window ended"
    if error:
        progress.note(f"[red]{step.title}: {error}")
    ok = not error
    measurement = Measurement(
        id=step.id,
        scenario=scenario.name,
        endpoint=step.endpoint.label,
        variant=step.endpoint.variant,
        path=step.endpoint.path,
        users=step.users,
        repeat=step.repeat,
        warmup_s=scenario.warmup_s,
        duration_s=scenario.duration_s,
        samples=f"samples/{samples.name}" if samples.is_file() else "",
        metrics=f"metrics/{metrics_path.name}",
        window_start=float(meta.get("measure_start", 0.0)),
        window_end=float(meta.get("measure_end", 0.0)),
        loadgen_cpu_share=float(meta.get("loadgen_cpu_share", 0.0)),
        loadgen_cpu_warning=bool(meta.get("locust_cpu_warning", False)),
        status="ok" if ok else "failed",
        error=error,
        model={
            "concurrency": step.endpoint.concurrency,
            "service_ms": step.endpoint.service_ms,
            "calls": step.endpoint.calls,
            "max_rps": step.endpoint.max_rps,
            "limits": list(step.endpoint.limits),
        },
    )
    count, errors = _window_count(meta), int(meta.get("errors", 0))
    window = measurement.window_end - measurement.window_start
    # the same definition as the report: successful completions in the window / its length
    progress.done(step.title, (count - errors) / window if ok and window > 0 else 0.0, errors)
    return measurement


def _window_count(meta: Mapping[str, Any]) -> int:
    return int(meta.get("window_count", 0))


def _follow(
    locust: ManagedProcess, progress_path: Path, window_s: float, progress: Progress
) -> str:
    """Wait for Locust, reporting live RPS; '' when it ended by itself, else the reason."""
    started = time.monotonic()
    deadline = started + window_s + 90.0
    last: tuple[float, int] | None = None
    rps = 0.0
    while locust.running():
        time.sleep(0.25)
        if time.monotonic() > deadline:
            return f"the load generator did not finish within {window_s + 90:.0f}s; stopped"
        try:
            doc = json.loads(progress_path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        count, stamp = int(doc.get("count", 0)), float(doc.get("t", 0.0))
        if last is not None and stamp > last[0]:
            rps = (count - last[1]) / (stamp - last[0])
        last = (stamp, count)
        phase = "measure" if "measure_start" in doc else "warm-up"
        if "spawned_at" not in doc:
            phase = "start-up"
        elapsed = time.time() - float(doc.get("spawned_at", time.time()))
        progress.tick(elapsed, count, int(doc.get("errors", 0)), rps, phase)
    return ""


def _wait_idle(app: App, progress: Progress, timeout_s: float = 60.0) -> None:
    """Until no request is in flight (e.g. a blocked backlog from the previous measurement)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=10.0) as client:
        while time.monotonic() < deadline:
            try:
                snapshot = client.get(f"{app.url}/_bench/metrics").json()
            except (httpx.HTTPError, ValueError):
                time.sleep(0.2)
                continue
            if snapshot["inflight"]["now"] == 0:
                return
            time.sleep(0.2)
    progress.note(f"[yellow]the app still had requests in flight after {timeout_s:.0f}s")
