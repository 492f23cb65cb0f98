"""Raw per-request samples, written to a CSV file the runner reads.

Locust's own percentiles are rounded to about two significant figures; here every request's
start time, response time, status and error is kept. The recorder also owns the measurement
window: once every user is spawned it waits ``warmup`` seconds, marks the window's start, waits
``duration`` seconds, marks its end and stops the test. It records its own CPU time over the
window, so a saturated load generator shows up in the results.
"""

from __future__ import annotations

import csv
import json
import os
import time
from typing import Any

import gevent
from locust import events
from locust.env import Environment

SAMPLES_FILE = os.environ.get("BENCH_SAMPLES_FILE", "samples.csv")
META_FILE = os.environ.get("BENCH_META_FILE", "meta.json")
PROGRESS_FILE = os.environ.get("BENCH_PROGRESS_FILE", "")
WARMUP_S = float(os.environ.get("BENCH_WARMUP_S", "0"))
DURATION_S = float(os.environ.get("BENCH_DURATION_S", "5"))
COLUMNS = ("start", "elapsed_ms", "status", "bytes", "error")

_samples: list[tuple[float, float, int, int, str]] = []
_meta: dict[str, Any] = {"warmup_s": WARMUP_S, "duration_s": DURATION_S}
_errors = 0


@events.request.add_listener
def on_request(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    response: Any = None,
    context: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    global _errors
    status = int(getattr(response, "status_code", 0) or 0)
    error = ""
    if exception is not None:
        error = f"{type(exception).__name__}: {exception}"[:200].replace("\n", " ")
        _errors += 1
    started = start_time if start_time is not None else time.time() - response_time / 1000
    _samples.append((started, float(response_time), status, int(response_length or 0), error))


def _write_progress() -> None:
    while True:
        if PROGRESS_FILE:
            doc = {"t": time.time(), "count": len(_samples), "errors": _errors, **_meta}
            tmp = PROGRESS_FILE + ".tmp"
            with open(tmp, "w") as fh:
                json.dump(doc, fh)
            os.replace(tmp, PROGRESS_FILE)
        gevent.sleep(0.25)


def _drive_window(environment: Environment) -> None:
    _meta["spawned_at"] = time.time()
    gevent.sleep(WARMUP_S)
    _meta["measure_start"] = time.time()
    cpu_start = time.process_time()
    gevent.sleep(DURATION_S)
    _meta["measure_end"] = time.time()
    cpu = time.process_time() - cpu_start
    _meta["loadgen_cpu_s"] = cpu
    _meta["loadgen_cpu_share"] = cpu / DURATION_S if DURATION_S else 0.0
    runner = environment.runner
    _meta["locust_cpu_warning"] = bool(getattr(runner, "cpu_warning_emitted", False))
    if runner is not None:
        runner.quit()


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    _meta["test_start"] = time.time()
    gevent.spawn(_write_progress)


@events.spawning_complete.add_listener
def on_spawning_complete(user_count: int, **_: Any) -> None:
    _meta["users_spawned"] = user_count
    if "spawned_at" not in _meta:
        environment = _ENV.get("env")
        if environment is not None:
            gevent.spawn(_drive_window, environment)


_ENV: dict[str, Environment] = {}


@events.test_start.add_listener
def on_test_start(environment: Environment, **_: Any) -> None:
    _ENV["env"] = environment


@events.quitting.add_listener
def on_quitting(environment: Environment, **_: Any) -> None:
    _meta["samples"] = len(_samples)
    start, end = _meta.get("measure_start"), _meta.get("measure_end")
    if start is not None and end is not None:
        done = [s for s in _samples if start <= s[0] + s[1] / 1000 <= end]
        _meta["window_count"] = len(done)
        _meta["errors"] = sum(1 for s in done if s[4])
    _meta["locust_cpu_warning"] = _meta.get("locust_cpu_warning") or bool(
        getattr(environment.runner, "cpu_warning_emitted", False)
    )
    tmp = SAMPLES_FILE + ".tmp"
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(_samples)
    os.replace(tmp, SAMPLES_FILE)
    tmp = META_FILE + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(_meta, fh, indent=1, sort_keys=True)
    os.replace(tmp, META_FILE)
