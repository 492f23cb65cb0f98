"""Write a synthetic run folder of any size, to benchmark the report builder (not a measurement).

    python scripts/synthetic_run.py OUT_DIR --samples 2000000 [--scenario quick] [--seed 1]

The folder has the shape of a real run of the named scenario or suite — results.json (current
schema), raw samples, window metadata and server-metrics series for every planned measurement —
filled with seeded random numbers: latencies around each endpoint's modelled service time,
timestamps over warm-up and window, a few errors. Its metadata, run id and descriptions say
"synthetic" so that no figure drawn from it can pass for a measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file from a checkout: import the project beside it
    sys.path.insert(0, str(ROOT))

from harness.analysis.capacity import ModelError, evaluate  # noqa: E402
from harness.files import write_atomic  # noqa: E402
from harness.measure.loadgen import Files, Outcome  # noqa: E402
from harness.measure.runner import Step, plan, record  # noqa: E402
from harness.results import SCHEMA, Measurement, Run, save  # noqa: E402
from locustfiles.protocol import SAMPLE_COLUMNS, WindowMeta  # noqa: E402
from scenarios import resolve  # noqa: E402

T0 = 1_800_000_000.0
NOTE = "synthetic data for benchmarking the report builder: not a measurement"


@dataclass(frozen=True)
class Shape:
    samples_per_step: int
    rng: np.random.Generator


def service_ms(step: Step) -> float:
    names = {k: float(v) for k, v in step.scenario.parameters.items() if isinstance(v, int | float)}
    names.update(threadpool_tokens=40, db_pool=10, http_connections=100, cpus=1)
    names.update(process_workers=1, cpu_us_per_round=0.3)
    try:
        ms = evaluate(step.endpoint.service_ms, names) * evaluate(step.endpoint.calls, names)
    except ModelError:
        ms = 1.0
    return max(ms, 0.3)


def write_samples(run_dir: Path, step: Step, start: float, shape: Shape) -> tuple[float, float]:
    """The step's samples CSV and meta file; returns its measured window."""
    warmup, duration = step.scenario.warmup_s, step.scenario.duration_s
    n, rng = shape.samples_per_step, shape.rng
    window_start, window_end = start + warmup, start + warmup + duration
    elapsed = rng.lognormal(np.log(service_ms(step) + 1.0), 0.25, n)
    if step.endpoint.variant == "pitfall":
        elapsed *= step.users  # serialized: every request waits for the others
    starts = np.sort(rng.uniform(start, window_end, n)) - elapsed / 1000.0 * 0.5
    errors = np.where(rng.random(n) < 0.001, "HTTPStatusError: HTTP 500", "")
    frame = pd.DataFrame(
        {
            "start": starts,
            "elapsed_ms": elapsed,
            "status": np.where(errors == "", 200, 500),
            "bytes": 19,
            "error": errors,
        },
        columns=list(SAMPLE_COLUMNS),
    )
    frame.to_csv(run_dir / "samples" / f"{step.id}.csv", index=False)
    meta = {"measure_start": window_start, "measure_end": window_end, "synthetic": True}
    write_atomic(run_dir / "samples" / f"{step.id}.meta.json", json.dumps(meta))
    return window_start, window_end


def write_metrics(
    run_dir: Path, step: Step, window: tuple[float, float], rng: np.random.Generator
) -> None:
    times = np.arange(window[0] - step.scenario.warmup_s, window[1] + 0.5, 0.5)
    lag = 1000.0 if step.endpoint.variant == "pitfall" else 2.0
    series = [
        {
            "t": float(t),
            "asked": float(t) - 0.001,
            "poll_ms": 1.0,
            "cpu_s": 0.45 * i,
            "rss_bytes": 120 * 2**20,
            "threads": 45,
            "requests_total": 100 * i,
            "inflight": {"max": float(step.users), "mean": float(step.users), "now": 0.0},
            "loop_lag_ms": {"max": float(lag * rng.uniform(1, 2)), "mean": lag / 2},
            "gauges": {"threadpool_borrowed": {"max": 20.0, "mean": 15.0, "now": 10.0}},
        }
        for i, t in enumerate(times)
    ]
    doc = {"url": "synthetic", "interval_s": 0.5, "errors": 0, "series": series}
    write_atomic(run_dir / "metrics" / f"{step.id}.json", json.dumps(doc))


def app_record() -> dict[str, object]:
    settings = {"threadpool_tokens": 40, "db_pool_size": 10, "http_max_connections": 100}
    return {
        "threadpool_tokens": 40,
        "settings": settings,
        "extra": {"cpu": {"us_per_round": 0.3, "process_pool_workers": 1}},
        "versions": {},
    }


def build(out: Path, scenario: str, samples: int, seed: int) -> Path:
    item, scenarios = resolve(scenario)
    steps = [step for s in scenarios for step in plan(s)]
    shape = Shape(max(1, samples // len(steps)), np.random.default_rng(seed))
    run_dir = out / f"synthetic-{item.name}-{samples}"
    for sub in ("samples", "metrics", "logs"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    records = []
    for s in scenarios:
        record = s.to_dict()
        record["description"] = f"[synthetic] {record['description']}"
        record["app"] = app_record()
        records.append(record)
    measurements, clock = [], T0
    for step in steps:
        window = write_samples(run_dir, step, clock, shape)
        write_metrics(run_dir, step, window, shape.rng)
        clock = window[1] + 2.0
        measurements.append(measurement(run_dir, step, window))
    metadata: dict[str, object] = {
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
    run = Run(
        run_id=run_dir.name,
        status="complete",
        created="2027-01-15T08:00:00+00:00",
        command=["scripts/synthetic_run.py", str(out), "--samples", str(samples)],
        metadata=metadata,
        scenarios=records,
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
    parser.add_argument("--scenario", default="quick", help="scenario or suite to imitate")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(build(args.out, args.scenario, args.samples, args.seed))


if __name__ == "__main__":
    main()
