"""Run scenarios: for each repeat × endpoint × users level, warm up, measure, collect.

One app process serves a whole scenario (like a real server: its thread pool and connection
pools stay warm); between two measurements the runner waits until the app has no request in
flight, so a blocked backlog never leaks into the next measurement. Repeats are the outer loop,
so sync and async are measured side by side in time and drift hits both alike.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from harness.errors import BenchError, Interrupted
from harness.measure import metadata, services
from harness.measure.app import (
    App,
    Launch,
    check_endpoints,
    connect_target,
    start_app,
)
from harness.measure.cpu_sampler import CpuSampler
from harness.measure.loadgen import Files, LoadGenerator, Outcome
from harness.measure.lock import machine_lock
from harness.measure.metrics import MetricsPoller, wait_idle
from harness.measure.pinning import Pinning
from harness.measure.plan import RunOptions, Step, estimate_s, plan
from harness.measure.processes import Children, ensure_port_free
from harness.measure.server import Workers
from harness.results import Measurement, Run, new_run_dir, now_iso, point_latest, save
from scenarios.model import Scenario
from target_app.instrumentation import METRICS_PATH
from target_app.secrets import mask_secrets
from target_app.settings import env_name


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


# the bundled app's CPU calibration, spread over this long in a run (target_app/routes/cpu.py)
CPU_CALIBRATION_S = 0.5


def app_env(scenario: Scenario, options: RunOptions) -> dict[str, str]:
    merged = {"cpu_calibration_s": CPU_CALIBRATION_S, **scenario.settings, **options.settings}
    return {env_name(key): str(value) for key, value in merged.items()}


@dataclass
class _Context:
    """What every measurement of a run shares, and the results so far."""

    run_dir: Path
    options: RunOptions
    pinning: Pinning
    progress: Progress
    result: Run | None = None

    def record(self, result: Run) -> None:
        self.result = result
        save(self.run_dir, result)


def run(
    label: str, scenarios: list[Scenario], options: RunOptions, progress: Progress | None = None
) -> tuple[Path, Run]:
    """Run every scenario into a new run folder; return it (also on Ctrl-C: marked incomplete)."""
    services.preflight(scenarios, options.services)
    for scenario in scenarios:  # a running server that does not answer: before any folder
        source = options.source.over(scenario)
        if source.kind == "target":
            connect_target(source.target)
    if options.port:
        ensure_port_free(options.port)
    with machine_lock(options.allow_concurrent) as holding:
        run_dir = new_run_dir(options.out, label)
        holding.mark(run_dir)
        return _run_in(run_dir, scenarios, options, progress, holding.other)


def _run_in(
    run_dir: Path,
    scenarios: list[Scenario],
    options: RunOptions,
    progress: Progress | None,
    beside: dict[str, Any] | None,
) -> tuple[Path, Run]:
    for sub in ("samples", "metrics", "logs"):
        (run_dir / sub).mkdir()
    pinning = options.pinning or Pinning.plan()
    ctx = _Context(run_dir, options, pinning, progress or QuietProgress())
    result = _begin(ctx, scenarios, beside)
    try:
        _run_all(ctx, scenarios)
    except KeyboardInterrupt as stop:
        why = str(stop) or "interrupted (Ctrl-C)"  # a Terminated names its signal
        save(run_dir, (ctx.result or result).finish("incomplete", why))
        raise Interrupted(
            f"{why}: children stopped, partial run kept (marked incomplete) in {run_dir}"
        ) from None
    except BenchError as error:
        save(run_dir, (ctx.result or result).finish("failed", str(error)))
        raise
    result = (ctx.result or result).finish("complete")
    save(run_dir, result)
    return run_dir, result


def _begin(ctx: _Context, scenarios: list[Scenario], beside: dict[str, Any] | None) -> Run:
    meta = metadata.collect(ctx.pinning.to_dict())
    if beside is not None:  # --allow-concurrent: the report flags it
        meta["concurrent_with"] = [beside]
    meta["loadgen_client"] = ctx.options.client
    # every server shape the run serves (each scenario's own is in its record)
    meta["server"] = "; ".join(dict.fromkeys(s.server.label() for s in scenarios))
    meta["request_timeout_s"] = ctx.options.request_timeout_s
    if ctx.options.cluster.distributed:  # Locust's master and workers (absent: one process)
        meta["loadgen_cluster"] = ctx.options.cluster.to_dict()
    result = Run(
        run_id=ctx.run_dir.name,
        status="running",
        created=now_iso(),
        command=[mask_secrets(arg) for arg in ctx.options.command or sys.argv],
        metadata=meta,
        scenarios=[s.to_dict() for s in scenarios],
        checks=list(ctx.options.checks),
    )
    ctx.record(result)
    point_latest(ctx.options.out, ctx.run_dir)
    return result


def _run_all(ctx: _Context, scenarios: list[Scenario]) -> None:
    steps = [step for s in scenarios for step in plan(s)]
    ctx.progress.start(len(steps), estimate_s(scenarios))
    index = 0
    for scenario, repeat in passes(scenarios):
        with Workers(scenario.server) as workers, Children() as children:
            app, record = _start_scenario(ctx, scenario, children, workers)
            assert ctx.result is not None
            ctx.record(_replace_scenario(ctx.result, record))
            for step in plan(scenario):
                if repeat is not None and step.repeat != repeat:
                    continue
                index += 1
                seconds = scenario.warmup_s + scenario.duration_s
                ctx.progress.measurement(index, step.title, seconds)
                measurement = _measure_until_clean(ctx, step, app, children, index)
                ctx.record(ctx.result.with_measurement(measurement))


def passes(scenarios: list[Scenario]) -> Iterator[tuple[Scenario, int | None]]:
    """Each app's life: a scenario with all its repeats (None); but the shapes of one matrix
    (``sleep-w1``, ``sleep-w2``: the same base) measured more than once take turns, one repeat
    each, so that the machine's drift hits every shape alike (each turn starts its app)."""
    done: set[str] = set()
    for scenario in scenarios:
        if scenario.name in done:
            continue
        group = [s for s in scenarios if scenario.base and s.base == scenario.base]
        if len(group) < 2 or scenario.repeat < 2:
            done.add(scenario.name)
            yield scenario, None
            continue
        done.update(s.name for s in group)
        for repeat in range(scenario.repeat):
            for sibling in group:
                yield sibling, repeat


def _replace_scenario(result: Run, record: dict[str, Any]) -> Run:
    scenarios = [record if s["name"] == record["name"] else s for s in result.scenarios]
    return replace(result, scenarios=scenarios)


def _start_scenario(
    ctx: _Context, scenario: Scenario, children: Children, workers: Workers
) -> tuple[App, dict[str, Any]]:
    env = app_env(scenario, ctx.options)
    where = services.Where(children, ctx.run_dir, ctx.pinning)
    started = services.start(scenario, where, ctx.options.services, dict(ctx.options.settings))
    env.update(started.env)
    source = ctx.options.source.over(scenario)
    launch = Launch(
        env,
        where.log(f"{scenario.name}-app.log"),
        ctx.pinning.app,
        ctx.options.port,
        shape=scenario.server,
        workers=workers if workers.active else None,
    )
    app, info = start_app(children, source, launch)
    check_endpoints(app, scenario.rendered_endpoints(), ctx.options.request_timeout_s)
    record = scenario.to_dict()
    if source.kind != "bundled":  # what the capacity model may know of a foreign server
        info.setdefault("settings", {**scenario.settings, **ctx.options.settings})
    record["app"] = info
    record["served_by"] = source.to_dict()
    record["dependencies"] = started.record
    return app, record


def _measure_until_clean(
    ctx: _Context, step: Step, app: App, children: Children, index: int = 0
) -> Measurement:
    """Measure ``step``; while the guard finds it disturbed, keep that attempt in the results
    (marked superseded, with why) and measure it again, up to ``--retry-disturbed`` times."""
    measurement = _measure(ctx, step, app, children)
    guard, retries = ctx.options.guard, ctx.options.retry_disturbed
    for attempt in range(1, retries + 1):
        reasons = guard(ctx.run_dir, measurement) if guard and measurement.status == "ok" else []
        if not reasons:
            break
        why = "disturbed: " + "; ".join(reasons)
        assert ctx.result is not None
        ctx.record(
            ctx.result.with_measurement(replace(measurement, status="superseded", error=why))
        )
        ctx.progress.note(mask_secrets(f"[yellow]{step.title}: {why}; measuring it again"))
        again = replace(step, attempt=attempt)
        seconds = step.scenario.warmup_s + step.scenario.duration_s
        ctx.progress.measurement(index, again.title, seconds)
        measurement = _measure(ctx, again, app, children)
    return measurement


def _measure(ctx: _Context, step: Step, app: App, children: Children) -> Measurement:
    def check() -> None:
        children.check(step.title)

    metrics_url = f"{app.url}{METRICS_PATH}"
    if app.metrics and not wait_idle(metrics_url, check, read=app.read_metrics):
        ctx.progress.note("[yellow]the app still had requests in flight after 60s")
    files = Files.of(ctx.run_dir, step.id)
    metrics_path = ctx.run_dir / "metrics" / f"{step.id}.json"
    cpu_path = ctx.run_dir / "metrics" / f"{step.id}.cpu.json"
    generator = LoadGenerator(
        step.job(ctx.options), files, app.url, ctx.pinning.loadgen, ctx.options.cluster
    )
    pinned = {"app": ctx.pinning.app, "loadgen": ctx.pinning.loadgen}
    if app.process is None:  # a running server (--target): not ours to pin, nor to account for
        pinned = {"loadgen": ctx.pinning.loadgen}
    with CpuSampler(children.pids, pinned) as sampler:  # who else used the pinned cores
        generator.start(children)
        if app.metrics:
            with MetricsPoller(metrics_url, interval_s=0.5, read=app.read_metrics) as poller:
                error = generator.follow(ctx.progress, check)
            poller.save(metrics_path)
        else:  # a target without the instrumentation: no server-side signals, said in the report
            error = generator.follow(ctx.progress, check)
    sampler.save(cpu_path)
    outcome = generator.finish(children, error)
    if not outcome.ok:
        ctx.progress.note(mask_secrets(f"[red]{step.title}: {outcome.error}"))
    rps, errors = (outcome.meta.rps, outcome.meta.errors) if outcome.meta else (0.0, 0)
    # the same definition as the report: successful completions in the window / its length
    ctx.progress.done(step.title, rps, errors)
    return replace(
        record(step, files, metrics_path, outcome),
        cpu=f"metrics/{cpu_path.name}" if cpu_path.is_file() else "",
    )


def record(step: Step, files: Files, metrics_path: Path, outcome: Outcome) -> Measurement:
    """What results.json keeps of one measurement: where its files are, its window, its state."""
    meta = outcome.meta
    return Measurement(
        id=step.id,
        scenario=step.scenario.name,
        endpoint=step.label,
        variant=step.variant,
        path=step.path,
        users=step.users,
        repeat=step.repeat,
        warmup_s=step.scenario.warmup_s,
        duration_s=step.scenario.duration_s,
        samples=f"samples/{files.samples.name}" if files.samples.is_file() else "",
        metrics=f"metrics/{metrics_path.name}" if metrics_path.is_file() else "",
        window_start=meta.measure_start if meta else 0.0,
        window_end=meta.measure_end if meta else 0.0,
        loadgen_cpu_share=meta.loadgen_cpu_share if meta else 0.0,
        loadgen_cpu_warning=meta.locust_cpu_warning if meta else False,
        status="ok" if outcome.ok else "failed",
        error=outcome.error,
        attempt=step.attempt,
        rate=step.rate,
        late=meta.late if meta else 0,
        dropped=meta.dropped if meta else 0,
    )
