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

from harness.files import atomic_writer, write_atomic
from locustfiles import protocol as p

SETTINGS = p.LoadSettings.from_env(os.environ)
SAMPLES_FILE = SETTINGS.samples_file
META_FILE = SETTINGS.meta_file
PROGRESS_FILE = SETTINGS.progress_file
WARMUP_S = SETTINGS.warmup_s
DURATION_S = SETTINGS.duration_s

_samples: list[tuple[float, float, int, int, str]] = []
_meta: dict[str, Any] = {p.WARMUP_S: WARMUP_S, p.DURATION_S: DURATION_S}
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
            doc = {p.T: time.time(), p.COUNT: len(_samples), p.ERRORS: _errors, **_meta}
            write_atomic(PROGRESS_FILE, json.dumps(doc), durable=False)
        gevent.sleep(0.25)


def _drive_window(environment: Environment) -> None:
    _meta[p.SPAWNED_AT] = time.time()
    gevent.sleep(WARMUP_S)
    _meta[p.MEASURE_START] = time.time()
    cpu_start = time.process_time()
    gevent.sleep(DURATION_S)
    _meta[p.MEASURE_END] = time.time()
    cpu = time.process_time() - cpu_start
    _meta[p.LOADGEN_CPU_S] = cpu
    _meta[p.LOADGEN_CPU_SHARE] = cpu / DURATION_S if DURATION_S else 0.0
    runner = environment.runner
    _meta[p.LOCUST_CPU_WARNING] = bool(getattr(runner, "cpu_warning_emitted", False))
    if runner is not None:
        runner.quit()


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    _meta[p.TEST_START] = time.time()
    gevent.spawn(_write_progress)


@events.spawning_complete.add_listener
def on_spawning_complete(user_count: int, **_: Any) -> None:
    _meta[p.USERS_SPAWNED] = user_count
    if p.SPAWNED_AT not in _meta:
        environment = _ENV.get("env")
        if environment is not None:
            gevent.spawn(_drive_window, environment)


_ENV: dict[str, Environment] = {}


@events.test_start.add_listener
def on_test_start(environment: Environment, **_: Any) -> None:
    _ENV["env"] = environment


@events.quitting.add_listener
def on_quitting(environment: Environment, **_: Any) -> None:
    _meta[p.SAMPLES] = len(_samples)
    start, end = _meta.get(p.MEASURE_START), _meta.get(p.MEASURE_END)
    if start is not None and end is not None:
        done = [s for s in _samples if start <= s[0] + s[1] / 1000 <= end]
        _meta[p.WINDOW_COUNT] = len(done)
        _meta[p.ERRORS] = sum(1 for s in done if s[4])
    _meta[p.LOCUST_CPU_WARNING] = _meta.get(p.LOCUST_CPU_WARNING) or bool(
        getattr(environment.runner, "cpu_warning_emitted", False)
    )
    with atomic_writer(SAMPLES_FILE, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(p.SAMPLE_COLUMNS)
        writer.writerows(_samples)
    write_atomic(META_FILE, json.dumps(_meta, indent=1, sort_keys=True))
