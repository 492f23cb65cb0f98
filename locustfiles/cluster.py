"""Locust's master/worker mode, wired to the recorder through Locust's custom messages.

Runs only inside Locust (``locustfiles/endpoint.py`` imports it); what it does is described,
and tested, in the pure ``locustfiles/distributed.py``:

- every process knows ``--bench-settings`` (``protocol.SETTINGS_ARG``). The master fills it
  from its environment, and Locust hands the master's custom options to each worker with the
  spawn message: a worker started anywhere, without the settings (``bench worker``), runs them;
- the master drives the window once Locust reports every user spawned, announces its start and
  end to the workers (``MSG_WINDOW``), waits for every worker's final chunk, then quits; its
  recorder writes the merged samples and the aggregated meta (the master alone writes files);
- each worker streams its samples (``MSG_SAMPLES``) every ``CHUNK_S``, and the rest with its
  own record (CPU share, lag, requests in flight) once it heard of the window's end.
"""

from __future__ import annotations

from typing import Any

import gevent
from gevent.event import Event
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from locustfiles import distributed as d
from locustfiles import protocol as p
from locustfiles import recorder

_STATE: dict[str, Any] = {}


@events.init_command_line_parser.add_listener
def on_parser(parser: Any, **_: Any) -> None:
    parser.add_argument(
        p.SETTINGS_ARG,
        type=str,
        default="",
        help="the harness's load settings (JSON); a worker receives them from its master",
    )


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        _master(environment, runner)
    elif isinstance(runner, WorkerRunner):
        _worker(environment, runner)


# --- the master ----------------------------------------------------------------------------------
def _master(environment: Environment, runner: MasterRunner) -> None:
    options = environment.parsed_options
    if options is not None and not getattr(options, p.SETTINGS_OPTION, ""):
        setattr(options, p.SETTINGS_OPTION, recorder.SETTINGS.to_json())  # sent to the workers
    expected = int(getattr(options, "expect_workers", 1) or 1)
    gather = d.Gather(expected)
    _STATE["gather"] = gather

    def on_samples(environment: Environment, msg: Any, **_: Any) -> None:
        before = len(gather.rows), gather.errors
        gather.add(runner.get_worker_index(msg.node_id), msg.data or {})
        recorder.absorb(gather.rows[before[0] :], gather.errors - before[1])

    runner.register_message(d.MSG_SAMPLES, on_samples)
    recorder.DRIVE[recorder.MASTER] = _drive_master


def _drive_master(environment: Environment) -> None:
    runner = environment.runner
    assert isinstance(runner, MasterRunner)

    def announce(doc: dict[str, float]) -> None:
        runner.send_message(d.MSG_WINDOW, doc)

    def stop() -> None:
        warned = bool(getattr(runner, "worker_cpu_warning_emitted", False))
        recorder.WINDOW.meta[p.LOCUST_CPU_WARNING] = (
            bool(recorder.WINDOW.meta.get(p.LOCUST_CPU_WARNING)) or warned
        )
        runner.quit()

    d.drive_master(recorder.WINDOW, _STATE["gather"], announce, gevent.sleep, stop)


# --- a worker ------------------------------------------------------------------------------------
def _worker(environment: Environment, runner: WorkerRunner) -> None:
    window = d.WorkerWindow(recorder.WINDOW.meta, recorder.IN_FLIGHT)
    ended = Event()
    record: dict[str, Any] = {}

    def on_window(environment: Environment, msg: Any, **_: Any) -> None:
        doc = msg.data or {}
        if "start" in doc:
            window.open(float(doc["start"]))
        if "end" in doc:
            warned = bool(getattr(runner, "cpu_warning_emitted", False))
            done = recorder.samples()
            record.update(window.close(float(doc["end"]), warned, len(done), done))
            ended.set()

    runner.register_message(d.MSG_WINDOW, on_window)
    gevent.spawn(_stream, runner, ended, record)


def _stream(runner: WorkerRunner, ended: Event, record: dict[str, Any]) -> None:
    """Send the new samples every ``CHUNK_S``; once the window ended, the rest and the record
    (from this one greenlet, so the final chunk is the last one sent)."""
    outbox = d.Outbox()
    while not ended.wait(d.CHUNK_S):
        rows = outbox.take(recorder.samples())
        if rows:
            runner.send_message(d.MSG_SAMPLES, {"rows": rows, "final": False})
    *chunks, last = outbox.chunks(recorder.samples())
    for rows in chunks:
        runner.send_message(d.MSG_SAMPLES, {"rows": rows, "final": False})
    runner.send_message(d.MSG_SAMPLES, {"rows": last, "final": True, "meta": record})
