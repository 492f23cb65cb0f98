"""Write a synthetic run folder of any size, to benchmark the report builder (not a measurement).

    python scripts/synthetic_run.py OUT_DIR --samples 2000000 [--scenario full] [--seed 1]

The folder has the shape of a real run of the named scenario or suite (by default ``full``: every
family, several users levels, three repeats) — results.json (current schema), raw samples,
window metadata and server-metrics series for every planned measurement — filled with seeded
random numbers that behave like a run: each measurement's throughput and response time are what
the endpoint's capacity model predicts at its users level (a closed loop: response time =
users / throughput), so ``def`` endpoints queue behind the thread pool, blocking code inside
``async def`` serves one request at a time, sync code costs more CPU per request than async;
the samples are shared out in proportion to the requests each measurement would have made,
latencies are log-normal around the predicted response time, about 0.1 % are errors. Its
metadata, run id and descriptions say "synthetic" so that no figure drawn from it can pass for
a measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file from a checkout: import the project beside it
    sys.path.insert(0, str(ROOT))

from harness.analysis.capacity import Context, Model, ModelError, predict  # noqa: E402
from harness.files import write_atomic  # noqa: E402
from harness.measure.loadgen import Files, Outcome  # noqa: E402
from harness.measure.plan import Step, plan  # noqa: E402
from harness.measure.runner import record  # noqa: E402
from harness.results import SCHEMA, Measurement, Run, save  # noqa: E402
from locustfiles.protocol import SAMPLE_COLUMNS, WindowMeta  # noqa: E402
from scenarios import resolve  # noqa: E402
from scenarios.model import Scenario  # noqa: E402

T0 = 1_800_000_000.0
NOTE = "synthetic data for benchmarking the report builder: not a measurement"


# The app as the synthetic run describes it (``app_record``), and the CPU one request costs it.
SETTINGS = {"threadpool_tokens": 40, "db_pool_size": 10, "http_max_connections": 100}
EXTRA = {"cpu": {"us_per_round": 0.3, "process_pool_workers": 1}}
CPU_MS = {"sync": 0.35, "fixed": 0.35}  # a thread hop costs more than a coroutine (0.25 ms)


@dataclass(frozen=True)
class Load:
    """What one measurement of the synthetic run serves: requests/s, response time, samples."""

    rps: float
    latency_ms: float
    samples: int


def modelled(step: Step) -> tuple[float, float]:
    """(requests/s, response time in ms) the capacity model predicts for the step."""
    settings = {**SETTINGS, **step.scenario.settings}
    cpu_ms = CPU_MS.get(step.endpoint.variant, 0.25)
    context = Context(
        threadpool_tokens=float(settings["threadpool_tokens"]),
        db_pool=float(settings["db_pool_size"]),
        http_connections=float(settings["http_max_connections"]),
        overhead_ms=cpu_ms,
        cpu_ceiling_rps=1000.0 / cpu_ms,
    )
    e = step.endpoint
    model = Model(e.concurrency, e.service_ms, e.calls, e.max_rps, e.limits)
    names = {"cpu_us_per_round": 0.3, "cpu_process_pool_workers": 1, **step.scenario.parameters}
    try:
        rps = predict(model, step.users, context, names).rps
    except ModelError:
        rps = 100.0
    rps = min(max(rps, 1.0), context.cpu_ceiling_rps or rps)
    return rps, step.users / rps * 1000.0


def loads(steps: list[Step], samples: int, rng: np.random.Generator) -> list[Load]:
    """Each step's throughput (±3 % from repeat to repeat) and its share of ``samples``: the
    requests it would have made over its warm-up and window."""
    found = []
    for step in steps:
        rps, latency = modelled(step)
        found.append((rps * rng.normal(1.0, 0.03), latency))
    spans = [s.scenario.warmup_s + s.scenario.duration_s for s in steps]
    total = sum(rps * span for (rps, _), span in zip(found, spans, strict=True))
    return [
        Load(rps, latency, max(1, round(samples * rps * span / total)))
        for (rps, latency), span in zip(found, spans, strict=True)
    ]


def write_samples(
    run_dir: Path, step: Step, start: float, load: Load, rng: np.random.Generator
) -> tuple[float, float]:
    """The step's samples CSV and meta file; returns its measured window."""
    warmup, duration, n = step.scenario.warmup_s, step.scenario.duration_s, load.samples
    window_start, window_end = start + warmup, start + warmup + duration
    elapsed = rng.lognormal(np.log(max(load.latency_ms, 0.3)), 0.25, n)
    starts = np.sort(rng.uniform(start, window_end, n)) - elapsed / 1000.0 * 0.5
    errors = np.where(rng.random(n) < 0.001, "HTTPStatusError: HTTP 500", "")
    frame = pd.DataFrame(
        {
            "start": starts,
            "elapsed_ms": elapsed,
            "status": np.where(errors == "", 200, 500),
            "bytes": 19,
            "error": errors,
            "name": step.endpoint.label,  # the recorder names each request's endpoint
            "user": np.arange(n) % step.users,  # and the user that sent it
        },
        columns=list(SAMPLE_COLUMNS),
    )
    frame.to_csv(run_dir / "samples" / f"{step.id}.csv", index=False)
    meta = {"measure_start": window_start, "measure_end": window_end, "synthetic": True}
    write_atomic(run_dir / "samples" / f"{step.id}.meta.json", json.dumps(meta))
    return window_start, window_end


def write_metrics(
    run_dir: Path, step: Step, window: tuple[float, float], load: Load, rng: np.random.Generator
) -> None:
    """The app's snapshots every 0.5 s: CPU as the requests cost it, thread-pool tokens in use,
    event-loop lag (a request's whole service time when blocking code holds the loop)."""
    e, users = step.endpoint, float(step.users)
    cpu_bound = e.concurrency in ("cpu", "process_pool") or step.scenario.name == "cpu"
    share = 0.95 if cpu_bound else min(0.95, load.rps * CPU_MS.get(e.variant, 0.25) / 1000)
    tokens = float(SETTINGS["threadpool_tokens"])
    borrowed = min(users, tokens) if e.concurrency == "threadpool" else 1.0
    lag = min(load.latency_ms / users, 5000.0) if e.concurrency == "serial" else 2.0
    times = np.arange(window[0] - step.scenario.warmup_s, window[1] + 0.5, 0.5)
    series = [
        {
            "t": float(t),
            "asked": float(t) - 0.001,
            "poll_ms": 1.0,
            "cpu_s": share * 0.5 * i,
            "rss_bytes": 120 * 2**20,
            "threads": 45,
            "requests_total": int(load.rps * 0.5 * i),
            "inflight": {"max": users, "mean": users, "now": 0.0},
            "loop_lag_ms": {"max": float(lag * rng.uniform(1, 2)), "mean": lag / 2},
            "gauges": {
                "threadpool_borrowed": {"max": borrowed, "mean": borrowed * 0.9, "now": borrowed}
            },
        }
        for i, t in enumerate(times)
    ]
    doc = {"url": "synthetic", "interval_s": 0.5, "errors": 0, "series": series}
    write_atomic(run_dir / "metrics" / f"{step.id}.json", json.dumps(doc))


def scenario_record(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a run records it, with the app it ran against."""
    record = scenario.to_dict()
    record["description"] = f"[synthetic] {record['description']}"
    settings = {**SETTINGS, **scenario.settings}
    record["app"] = {
        "threadpool_tokens": settings["threadpool_tokens"],
        "settings": settings,
        "extra": EXTRA,
        "versions": {},
    }
    return record


def metadata() -> dict[str, object]:
    return {
        "synthetic": True,
        "note": NOTE,
        "cpu_model": "synthetic",
        "cpu_count": 2,
        "cpu_freq_mhz": None,
        "memory_gib": None,
        "hostname": "synthetic",
        "platform": "synthetic",
        "python": "synthetic",
        "load_avg_at_start": [],
        "packages": {},
        "server": "synthetic",
        "pinning": {"app": [0], "loadgen": [1], "upstream": [1], "database": [1], "note": NOTE},
    }


def build(out: Path, scenario: str, samples: int, seed: int) -> Path:
    """Write ``OUT/synthetic-<scenario>-<samples>``: about ``samples`` samples in all."""
    item, scenarios = resolve(scenario)
    # mixes are left out: one samples file with several endpoints is not modelled here
    steps = [step for s in scenarios for step in plan(s) if len(step.parts) == 1]
    rng = np.random.default_rng(seed)
    run_dir = out / f"synthetic-{item.name}-{samples}"
    for sub in ("samples", "metrics", "logs"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    measurements, clock = [], T0
    for step, load in zip(steps, loads(steps, samples, rng), strict=True):
        window = write_samples(run_dir, step, clock, load, rng)
        write_metrics(run_dir, step, window, load, rng)
        clock = window[1] + 2.0
        measurements.append(measurement(run_dir, step, window))
    run = Run(
        run_id=run_dir.name,
        status="complete",
        created="2027-01-15T08:00:00+00:00",
        command=["scripts/synthetic_run.py", str(out), "--samples", str(samples)],
        metadata=metadata(),
        scenarios=[scenario_record(s) for s in scenarios],
        measurements=tuple(measurements),
        note=NOTE,
        schema=SCHEMA,
    )
    save(run_dir, run)
    return run_dir


def measurement(run_dir: Path, step: Step, window: tuple[float, float]) -> Measurement:
    meta = WindowMeta(window[0], window[1], 0, 0, 0.1, False, complete=True)
    files = Files.of(run_dir, step.id)
    return record(step, files, run_dir / "metrics" / f"{step.id}.json", Outcome(meta, ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder that receives the run folder")
    parser.add_argument("--samples", type=int, default=2_000_000, help="samples in all")
    parser.add_argument("--scenario", default="full", help="scenario or suite to imitate")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(build(args.out, args.scenario, args.samples, args.seed))


if __name__ == "__main__":
    main()
