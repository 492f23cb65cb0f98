"""--retry-disturbed: a disturbed attempt is kept (superseded, with why) and measured again,
up to N times; the last attempt is the measurement."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness import results
from harness.measure import runner
from harness.measure.pinning import Pinning
from harness.measure.plan import RunOptions, Step, plan
from harness.measure.runner import QuietProgress
from harness.results import Measurement, Run
from scenarios import resolve


def measured(step: Step) -> Measurement:
    return Measurement(
        id=step.id,
        scenario=step.scenario.name,
        endpoint=step.label,
        variant=step.variant,
        path=step.path,
        users=step.users,
        repeat=step.repeat,
        warmup_s=1.0,
        duration_s=3.0,
        samples=f"samples/{step.id}.csv",
        metrics="",
        window_start=10.0,
        window_end=13.0,
        loadgen_cpu_share=0.1,
        loadgen_cpu_warning=False,
        attempt=step.attempt,
    )


def context(tmp_path: Path, retries: int, disturbed_attempts: set[int]) -> runner._Context:
    def guard(run_dir: Path, m: Measurement) -> list[str]:
        return ["the load generator stalled"] if m.attempt in disturbed_attempts else []

    options = RunOptions(retry_disturbed=retries, guard=guard)
    run = Run("r", "running", results.now_iso(), [], {}, [])
    return runner._Context(tmp_path, options, Pinning.plan([0, 1]), QuietProgress(), run)


@pytest.fixture()
def step() -> Step:
    _, (scenario,) = resolve("sleep")
    return next(plan(scenario))


@pytest.fixture(autouse=True)
def no_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(ctx: Any, step: Step, app: Any, children: Any) -> Measurement:
        return measured(step)

    monkeypatch.setattr(runner, "_measure", fake)


def test_a_disturbed_attempt_is_kept_and_measured_again(tmp_path: Path, step: Step) -> None:
    ctx = context(tmp_path, retries=2, disturbed_attempts={0})
    last = runner._measure_until_clean(ctx, step, None, None)  # type: ignore[arg-type]
    assert last.attempt == 1 and last.status == "ok" and last.id == f"{step.id}--a1"
    assert ctx.result is not None
    (first,) = ctx.result.measurements
    assert first.status == "superseded" and first.attempt == 0
    assert first.error == "disturbed: the load generator stalled"
    saved = results.load(tmp_path).measurements
    assert saved == ctx.result.measurements, "results.json keeps the discarded attempt"


def test_retries_stop_at_n(tmp_path: Path, step: Step) -> None:
    ctx = context(tmp_path, retries=2, disturbed_attempts={0, 1, 2})
    last = runner._measure_until_clean(ctx, step, None, None)  # type: ignore[arg-type]
    assert last.attempt == 2 and "attempt 3" in replace(step, attempt=2).title
    assert ctx.result is not None
    assert [m.status for m in ctx.result.measurements] == ["superseded", "superseded"]


def test_without_the_option_nothing_is_measured_twice(tmp_path: Path, step: Step) -> None:
    ctx = context(tmp_path, retries=0, disturbed_attempts={0})
    assert runner._measure_until_clean(ctx, step, None, None).attempt == 0  # type: ignore[arg-type]
    assert ctx.result is not None and ctx.result.measurements == ()
