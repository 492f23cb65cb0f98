"""Raw per-request samples, written to a CSV file the runner reads.

Locust's own percentiles are rounded to about two significant figures; here every request's
start time, response time, status and error is kept. The recorder also owns the measurement
window: once every user is spawned it waits ``warmup`` seconds, marks the window's start, waits
``duration`` seconds, marks its end and stops the test. It records its own CPU time over the
window, so a saturated load generator shows up in the results.

Each sample names the user that sent it (its index, from the request's ``context``: fairness),
and ``IN_FLIGHT`` knows each user's current request (the user class calls ``begin`` before it
sends, the sample's arrival ends it): the ones still in flight when the window ends go into the
metadata, their latency censored at their age.

In the distributed mode (``locustfiles/cluster.py``) the same module runs in every process, in
one of three roles: ``local`` (one process, as above), ``worker`` (records its samples, which the
cluster streams to the master; writes no file) and ``master`` (sends nothing; its samples are the
workers', merged; it alone drives the window and writes the progress, samples and meta files).
The settings come from the environment, or from Locust's options (``protocol.SETTINGS_ARG``,
which the master hands to its workers): ``configure`` applies them before any user starts.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import gevent
from locust import events
from locust.env import Environment

from harness.files import atomic_writer, write_atomic
from locustfiles import protocol as p
from locustfiles import stall
from locustfiles.distributed import merge
from locustfiles.schedule import corrected
from locustfiles.window import Sample, Window

SETTINGS = p.LoadSettings.from_env(os.environ)
WINDOW = Window(SETTINGS.warmup_s, SETTINGS.duration_s)
IN_FLIGHT = WINDOW.in_flight
USER = "user"  # the key of a request's context that holds its user's index
# the open model's keys of a request's context: its intended send time, its in-flight key
INTENDED = "intended"
SLOT = "slot"
LOCAL, MASTER, WORKER = "local", "master", "worker"
ROLE = LOCAL

_samples: list[Sample] = []
_errors = 0
_ENV: dict[str, Environment] = {}


def role_of(environment: Environment) -> str:
    options = environment.parsed_options
    if options is not None and getattr(options, "master", False):
        return MASTER
    if options is not None and getattr(options, "worker", False):
        return WORKER
    return LOCAL


def configure(environment: Environment) -> None:
    """Take the settings from Locust's options when they carry them (a worker, once the
    master's spawn message arrived; a master started with them)."""
    global SETTINGS
    text = getattr(environment.parsed_options, p.SETTINGS_OPTION, "") or ""
    if not text:
        return
    SETTINGS = p.LoadSettings.from_json(text)
    WINDOW.warmup_s, WINDOW.duration_s = SETTINGS.warmup_s, SETTINGS.duration_s
    WINDOW.meta[p.WARMUP_S], WINDOW.meta[p.DURATION_S] = SETTINGS.warmup_s, SETTINGS.duration_s


def absorb(rows: list[Sample], errors: int) -> None:
    """The master: samples that arrived from a worker (the progress counts them)."""
    global _errors
    _samples.extend(rows)
    _errors += errors


def samples() -> list[Sample]:
    return _samples


@events.request.add_listener
def on_request(
    name: str,
    response_time: float,
    response_length: int,
    response: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **extra: Any,
) -> None:
    """Locust calls it with keywords (``context`` names the user; request_type, url… are not
    needed)."""
    global _errors
    context: Mapping[str, Any] | None = extra.get("context")
    user = int(context.get(USER, -1)) if context else -1
    intended = context.get(INTENDED) if context else None
    IN_FLIGHT.end(int(context.get(SLOT, user)) if context else user)
    status = int(getattr(response, "status_code", 0) or 0)
    error = ""
    if exception is not None:
        error = f"{type(exception).__name__}: {exception}"[:200].replace("\n", " ")
        _errors += 1
    started = start_time if start_time is not None else time.time() - response_time / 1000
    size = int(response_length or 0)
    first = getattr(response, "first_byte_ms", None)  # the lean client's; "" when unknown
    first_byte: float | str = round(first, 3) if first is not None and first == first else ""
    if intended is None:
        row = (started, float(response_time), status, size, error, name, user, "", "", first_byte)
        _samples.append(row)
        return
    latency = corrected(float(intended), started, float(response_time))
    sent_at, service = started, float(response_time)
    _samples.append(
        (float(intended), latency, status, size, error, name, user, sent_at, service, first_byte)
    )


def _write_progress(environment: Environment) -> None:
    """Every 0.25 s, the progress file the harness shows. The file is written by one of
    gevent's native threads: a write or rename that blocks on a busy disk then holds this
    greenlet only, never the loop that sends the requests; the slowest write is recorded."""
    pool = gevent.get_hub().threadpool
    while True:
        if SETTINGS.progress_file:
            doc = {p.T: time.time(), p.COUNT: len(_samples), p.ERRORS: _errors, **WINDOW.meta}
            if ROLE == MASTER:
                doc[p.WORKERS_CONNECTED] = int(getattr(environment.runner, "worker_count", 0))
            took_ms = pool.apply(_timed_write, (SETTINGS.progress_file, json.dumps(doc)))
            slowest = max(float(WINDOW.meta.get(p.PROGRESS_WRITE_MAX_MS, 0.0)), took_ms)
            WINDOW.meta[p.PROGRESS_WRITE_MAX_MS] = slowest
        gevent.sleep(0.25)


def _timed_write(path: str, text: str) -> float:
    """Write ``path`` atomically (no fsync: a progress file), in ms."""
    began = time.perf_counter()
    write_atomic(path, text, durable=False)
    return (time.perf_counter() - began) * 1000.0


def _cpu_warning(environment: Environment) -> bool:
    return bool(getattr(environment.runner, "cpu_warning_emitted", False))


def _drive_window(environment: Environment) -> None:
    def stop() -> None:
        WINDOW.meta[p.LOCUST_CPU_WARNING] = _cpu_warning(environment)
        if environment.runner is not None:
            environment.runner.quit()

    gc.freeze()  # every user is spawned: their objects need no more collecting
    WINDOW.drive(sleep_then_freeze, stop)
    WINDOW.meta[p.GC_FROZEN] = gc.get_freeze_count()


def sleep_then_freeze(seconds: float) -> None:
    """Sleep, then move every object made meanwhile (the warm-up's connections, greenlets) to
    the permanent generation. A full collection otherwise walks Locust's, gevent's and the users'
    objects and the growing samples list: 16-35 ms in this process, a pause of the generator that
    grew with the samples (its timer ran up to 45 ms late at 170,000 samples); after ``freeze``
    the same collection takes 0.1 ms. The samples are plain tuples: nothing cyclic is kept."""
    gevent.sleep(seconds)
    gc.freeze()


# who drives the window once every user is spawned: this process alone, or (the distributed
# mode's master) the cluster, which tells the workers (``locustfiles/cluster.py`` sets it)
DRIVE: dict[str, Callable[[Environment], None]] = {LOCAL: _drive_window}


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    global ROLE
    ROLE = role_of(environment)
    configure(environment)
    WINDOW.meta[p.TEST_START] = time.time()
    if ROLE != WORKER:  # a worker writes no file: the master has its samples
        gevent.spawn(_write_progress, environment)
    if ROLE != MASTER:  # the master sends nothing: its workers watch their own lag
        gevent.spawn(stall.watch, WINDOW.meta, gevent.sleep)


@events.spawning_complete.add_listener
def on_spawning_complete(user_count: int, **_: Any) -> None:
    WINDOW.meta[p.USERS_SPAWNED] = user_count
    environment = _ENV.get("env")
    drive = DRIVE.get(ROLE)
    if not WINDOW.started and environment is not None and drive is not None:
        gevent.spawn(drive, environment)


@events.test_start.add_listener
def on_test_start(environment: Environment, **_: Any) -> None:
    _ENV["env"] = environment
    configure(environment)  # a worker: the master's settings came with its spawn message


@events.quitting.add_listener
def on_quitting(environment: Environment, **_: Any) -> None:
    if ROLE == WORKER:
        return
    columns = p.SAMPLE_COLUMNS
    if ROLE == MASTER:
        columns = (*p.SAMPLE_COLUMNS, p.WORKER_COLUMN)
        _samples[:] = merge(_samples)
    meta = WINDOW.close(_samples, _cpu_warning(environment))
    with atomic_writer(SETTINGS.samples_file, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(_samples)
    write_atomic(SETTINGS.meta_file, json.dumps(meta, indent=1, sort_keys=True))
