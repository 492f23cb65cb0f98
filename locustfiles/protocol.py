"""What crosses the boundary between the harness and the Locust process, written once.

The runner starts Locust with a ``LoadSettings`` in its environment (``BENCH_*`` names); the
recorder inside Locust writes raw samples (``SAMPLE_COLUMNS``), a live progress document and,
at the end, the window metadata (``WindowMeta`` keys). Both sides import this module; it imports
nothing from Locust (which monkey-patches the standard library with gevent), so the harness can.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# --- harness → Locust: the environment ----------------------------------------------------------
ENV_REQUESTS = "BENCH_REQUESTS"
ENV_WARMUP_S = "BENCH_WARMUP_S"
ENV_DURATION_S = "BENCH_DURATION_S"
ENV_SAMPLES_FILE = "BENCH_SAMPLES_FILE"
ENV_META_FILE = "BENCH_META_FILE"
ENV_PROGRESS_FILE = "BENCH_PROGRESS_FILE"
ENV_TIMEOUT_S = "BENCH_TIMEOUT_S"
# the open model (``locustfiles/schedule.py``): requests sent at this rate (0 = closed model)
ENV_RATE = "BENCH_RATE"
ENV_ARRIVALS = "BENCH_ARRIVALS"  # constant | poisson
ENV_MAX_IN_FLIGHT = "BENCH_MAX_IN_FLIGHT"
ARRIVALS = ("constant", "poisson")
# the distributed mode (``locustfiles/cluster.py``): the settings travel as one JSON text in a
# custom Locust argument, which the master hands to every worker with the spawn message, so a
# worker started anywhere without them (``bench worker``) runs what the master runs
SETTINGS_ARG = "--bench-settings"
SETTINGS_OPTION = "bench_settings"  # its name in Locust's parsed_options

# --- Locust → harness: samples, progress and window metadata ------------------------------------
SAMPLE_COLUMNS = (
    "start",
    "elapsed_ms",
    "status",
    "bytes",
    "error",
    "name",
    "user",
    "sent",
    "service_ms",
    "first_byte_ms",
)
"""One CSV row per request: start (epoch s), response time (ms), HTTP status, body bytes, error,
the endpoint's label (which endpoint of a mix; files written before mixes lack it) and the index
of the user that sent it (0 … users-1; -1 unknown; files written before it lack the column).
In the open model (a rate), ``start`` is the *intended* send time of the schedule and
``elapsed_ms`` the latency from it (coordinated omission corrected); ``sent`` is when the
request really left (epoch s) and ``service_ms`` its time from there. Closed-model rows leave
those two empty, and files written before the open model lack them. ``first_byte_ms`` is the
time from the request's start to the first byte of its body (a streamed response's time to
first byte; empty when there was no body or the client cannot tell: older files lack it)."""
WORKER_COLUMN = "worker"
"""The distributed mode's samples add this last column: the Locust worker (0 … N-1) that sent
the request; its ``user`` is then unique over the workers (see ``locustfiles/distributed.py``).
A single Locust process writes ``SAMPLE_COLUMNS`` alone, as it always did (worker 0)."""

# keys of the progress document (rewritten every 0.25 s) and of the final metadata
T = "t"
COUNT = "count"
ERRORS = "errors"
TEST_START = "test_start"
SPAWNED_AT = "spawned_at"
USERS_SPAWNED = "users_spawned"
MEASURE_START = "measure_start"
MEASURE_END = "measure_end"
LOADGEN_CPU_S = "loadgen_cpu_s"
LOADGEN_CPU_SHARE = "loadgen_cpu_share"
LOCUST_CPU_WARNING = "locust_cpu_warning"
WINDOW_COUNT = "window_count"
SAMPLES = "samples"
WARMUP_S = "warmup_s"
DURATION_S = "duration_s"
# the generator's own scheduling lag over the window (``locustfiles/stall.py``): how late a
# greenlet that sleeps 10 ms woke, at worst and at the 99th percentile, over how many wake-ups
LOADGEN_LAG_MAX_MS = "loadgen_lag_max_ms"
LOADGEN_LAG_P99_MS = "loadgen_lag_p99_ms"
LOADGEN_LAG_TICKS = "loadgen_lag_ticks"
# the requests still in flight when the window ended: [[start (epoch s), endpoint name, user], …]
# (their latency is at least measure_end - start: censored samples); absent in older files
IN_FLIGHT_AT_END = "in_flight_at_end"
# the open model's schedule over the window (``locustfiles/schedule.py``): the offered rate, the
# sends it meant to make, those sent more than ``LATE_S`` after their time, those not sent at all
# (the in-flight cap was reached), and the most in flight at once; absent in the closed model
OFFERED_RATE = "offered_rate"
SCHEDULED = "scheduled"
LATE = "late"
DROPPED = "dropped"
MAX_IN_FLIGHT_SEEN = "max_in_flight_seen"
# requests sent once more on a new connection because the kept-alive one had been closed by the
# server while idle (locustfiles/rawhttp.py); absent in older files
STALE_RETRIES = "stale_connection_retries"
# WebSocket: the idle connections open at most (and those that could not connect) beside the
# measured ones
# objects the load generator moved to the permanent generation (gc.freeze) before the window
GC_FROZEN = "gc_frozen"
# the slowest write of the progress file (ms), done off the generator's loop by a native thread
PROGRESS_WRITE_MAX_MS = "progress_write_max_ms"
IDLE_CONNECTIONS = "idle_connections"
IDLE_FAILED = "idle_failed"
LATE_S = 0.010
# the distributed mode: each worker's CPU share over the window (by worker index; the top-level
# ``loadgen_cpu_share`` is then the worst worker's), each worker's own record (``WORKERS``: cpu
# share, lag, samples), and why the master could not gather every worker's samples ("" if it did)
LOADGEN_CPU_SHARES = "loadgen_cpu_shares"
WORKERS = "workers"
LOADGEN_ERROR = "loadgen_error"
LOADGEN_MASTER_CPU_SHARE = "loadgen_master_cpu_share"  # the master's own (it merges the rows)
WORKERS_CONNECTED = "workers_connected"  # the master's progress document: workers ready so far


@dataclass(frozen=True)
class RequestSpec:
    """One endpoint as the load generator requests it; ``weight`` is its share of a mix."""

    name: str
    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""  # JSON text, sent with ``Content-Type: application/json``
    expect_status: tuple[int, ...] = ()  # () = any 2xx; anything else is an error
    weight: float = 1.0
    # "websocket": a connection per user, ``message`` sent and answered again and again, with
    # ``idle`` more connections held open and silent beside it (locustfiles/sockets.py)
    protocol: str = "http"
    message: str = ""
    idle: int = 0

    @property
    def websocket(self) -> bool:
        return self.protocol == "websocket"

    def expects(self, status: int) -> bool:
        return status in self.expect_status if self.expect_status else 200 <= status < 300

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RequestSpec:
        return cls(
            name=str(doc.get("name") or doc["path"]),
            path=str(doc["path"]),
            method=str(doc.get("method", "GET")),
            headers=tuple((str(k), str(v)) for k, v in doc.get("headers", ())),
            body=str(doc.get("body", "")),
            expect_status=tuple(int(x) for x in doc.get("expect_status", ())),
            weight=float(doc.get("weight", 1.0)),
            protocol=str(doc.get("protocol", "http")),
            message=str(doc.get("message", "")),
            idle=int(doc.get("idle", 0)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "method": self.method,
            "headers": [list(h) for h in self.headers],
            "body": self.body,
            "expect_status": list(self.expect_status),
            "weight": self.weight,
            **(
                {"protocol": self.protocol, "message": self.message, "idle": self.idle}
                if self.websocket
                else {}
            ),
        }


_DEFAULT_REQUESTS = (RequestSpec("/async/hello", "/async/hello"),)


@dataclass(frozen=True)
class LoadSettings:
    """One measurement as the Locust process sees it: one endpoint, or a weighted mix."""

    requests: tuple[RequestSpec, ...] = field(default=_DEFAULT_REQUESTS)
    warmup_s: float = 0.0
    duration_s: float = 5.0
    samples_file: str = "samples.csv"
    meta_file: str = "meta.json"
    progress_file: str = ""
    timeout_s: float = 30.0
    rate: float = 0.0  # requests/s on a schedule (the open model); 0: the closed model
    arrivals: str = "constant"
    max_in_flight: int = 2000

    def to_env(self) -> dict[str, str]:
        return {
            ENV_REQUESTS: json.dumps([r.to_dict() for r in self.requests]),
            ENV_WARMUP_S: str(self.warmup_s),
            ENV_DURATION_S: str(self.duration_s),
            ENV_SAMPLES_FILE: self.samples_file,
            ENV_META_FILE: self.meta_file,
            ENV_PROGRESS_FILE: self.progress_file,
            ENV_TIMEOUT_S: str(self.timeout_s),
            ENV_RATE: str(self.rate),
            ENV_ARRIVALS: self.arrivals,
            ENV_MAX_IN_FLIGHT: str(self.max_in_flight),
        }

    def to_json(self) -> str:
        """The settings as one text (the distributed mode's ``SETTINGS_ARG``)."""
        return json.dumps(self.to_env(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LoadSettings:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("the load settings are not a JSON object")
        return cls.from_env({str(k): str(v) for k, v in doc.items()})

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LoadSettings:
        default = cls()
        raw = environ.get(ENV_REQUESTS)
        requests = (
            tuple(RequestSpec.from_dict(d) for d in json.loads(raw)) if raw else default.requests
        )
        return cls(
            requests=requests,
            warmup_s=float(environ.get(ENV_WARMUP_S, default.warmup_s)),
            duration_s=float(environ.get(ENV_DURATION_S, default.duration_s)),
            samples_file=environ.get(ENV_SAMPLES_FILE, default.samples_file),
            meta_file=environ.get(ENV_META_FILE, default.meta_file),
            progress_file=environ.get(ENV_PROGRESS_FILE, default.progress_file),
            timeout_s=float(environ.get(ENV_TIMEOUT_S, default.timeout_s)),
            rate=float(environ.get(ENV_RATE, default.rate)),
            arrivals=environ.get(ENV_ARRIVALS, default.arrivals),
            max_in_flight=int(environ.get(ENV_MAX_IN_FLIGHT, default.max_in_flight)),
        )


@dataclass(frozen=True)
class Progress:
    """The live progress document: requests so far and which phase the window is in."""

    t: float
    count: int
    errors: int
    phase: str  # start-up | warm-up | measure
    spawned_at: float | None
    workers: int = 0  # the distributed mode: the workers connected to the master so far

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Progress:
        spawned = doc.get(SPAWNED_AT)
        phase = "start-up" if spawned is None else "warm-up"
        if spawned is not None and MEASURE_START in doc:
            phase = "measure"
        return cls(
            t=float(doc.get(T, 0.0)),
            count=int(doc.get(COUNT, 0)),
            errors=int(doc.get(ERRORS, 0)),
            phase=phase,
            spawned_at=None if spawned is None else float(spawned),
            workers=int(doc.get(WORKERS_CONNECTED, 0)),
        )


@dataclass(frozen=True)
class WindowMeta:
    """What the recorder wrote when Locust quit: the measured window and the generator's CPU."""

    measure_start: float
    measure_end: float
    window_count: int
    errors: int
    loadgen_cpu_share: float
    locust_cpu_warning: bool
    complete: bool  # the window ended (not cut short by a crash or a stop)
    late: int = 0  # the open model: sent more than LATE_S after their intended time
    dropped: int = 0  # the open model: not sent (the in-flight cap was reached)
    loadgen_cpu_shares: tuple[float, ...] = ()  # per worker (the distributed mode), else ()
    error: str = ""  # the distributed mode: a worker's samples did not all reach the master

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> WindowMeta:
        return cls(
            measure_start=float(doc.get(MEASURE_START, 0.0)),
            measure_end=float(doc.get(MEASURE_END, 0.0)),
            window_count=int(doc.get(WINDOW_COUNT, 0)),
            errors=int(doc.get(ERRORS, 0)),
            loadgen_cpu_share=float(doc.get(LOADGEN_CPU_SHARE, 0.0)),
            locust_cpu_warning=bool(doc.get(LOCUST_CPU_WARNING, False)),
            complete=MEASURE_END in doc,
            late=int(doc.get(LATE, 0)),
            dropped=int(doc.get(DROPPED, 0)),
            loadgen_cpu_shares=tuple(float(x) for x in doc.get(LOADGEN_CPU_SHARES, ())),
            error=str(doc.get(LOADGEN_ERROR, "")),
        )

    @property
    def rps(self) -> float:
        """Successful completions in the window per second: the report's definition."""
        span = self.measure_end - self.measure_start
        return (self.window_count - self.errors) / span if span > 0 else 0.0
