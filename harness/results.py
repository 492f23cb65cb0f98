"""The versioned results document of a run, saved atomically and loaded with validation.

Format history (``"schema"``):
  1 — run metadata, scenarios, measurements (each pointing at its raw samples CSV, its Locust
      window metadata and its server-metrics series, all relative to the run folder); every
      measurement carried a copy of its endpoint's capacity model.
  2 — the capacity model is stored once, with its endpoint in the scenario record
      (``scenarios[].endpoints[].model``), not copied into each measurement. Schema 1 runs are
      still read: their models are taken from the measurements.
      Since then, an optional ``checks``: the check texts given with ``bench run --check`` (a
      scenario file's own are in its record, ``scenarios[].checks``); a run without it has
      none. Still schema 2: a reader that does not know the field ignores it.
      Since then, optional per measurement: ``cpu`` (its per-CPU times file, for the
      disturbance guard), ``attempt`` and the status ``superseded`` (a disturbed attempt that
      ``--retry-disturbed`` measured again: kept, not tabulated).
      Since then, optional per measurement: ``rate`` (the open model's offered rate, requests
      sent per second on a schedule; 0 or absent: the closed model, ``users`` users), with
      ``late`` and ``dropped`` (its sends over the window that left more than 10 ms late, or
      not at all: the in-flight cap, then ``users``, was reached).

A run folder holds ``results.json`` (this document), ``samples/<id>.csv``, ``metrics/<id>.json``
(the app's ``/_bench/metrics`` snapshots, read back by ``harness/server_samples.py``), ``logs/``
and, once reported, the PNGs, ``index.html`` and ``summary.md``. A report is rebuilt from these
alone.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from harness.errors import BenchError
from harness.files import write_atomic
from target_app.secrets import mask_secrets

SCHEMA = 2
MIX = "mix"  # the variant of a measurement that drove several endpoints at once
READABLE_SCHEMAS = (1, 2)
RESULTS_FILE = "results.json"
# written into a run's folder by another run that measured beside it (--allow-concurrent)
CONCURRENT_FILE = "concurrent-runs.json"
STATUSES = ("running", "complete", "incomplete", "failed")
# superseded: a disturbed attempt measured again (--retry-disturbed); kept, never tabulated
MEASUREMENT_STATUSES = ("ok", "failed", "superseded")
# An endpoint's capacity model, as its scenario record holds it (see ``analysis/capacity.py``).
MODEL_FIELDS = ("concurrency", "service_ms", "calls", "max_rps", "limits")
# Fields that must match for two runs to be compared as "same machine" (like pyperf).
MACHINE_FIELDS = ("cpu_model", "cpu_count", "hostname", "python", "platform")


@dataclass(frozen=True)
class Measurement:
    """One endpoint at one users level, one repeat: a warm-up then a measured window."""

    id: str
    scenario: str
    endpoint: str
    variant: str
    path: str
    users: int
    repeat: int
    warmup_s: float
    duration_s: float
    samples: str
    metrics: str
    window_start: float
    window_end: float
    loadgen_cpu_share: float
    loadgen_cpu_warning: bool
    status: str = "ok"
    error: str = ""
    # the per-CPU and our processes' CPU times over the measurement (``harness/cpu_times.py``),
    # relative to the run folder; "" for runs before it was recorded
    cpu: str = ""
    # 0 for a first measurement; N for the one measured again N times after it was disturbed
    # (``bench run --retry-disturbed``: the earlier attempts are kept, status "superseded")
    attempt: int = 0
    # the open model (``locustfiles/schedule.py``): the offered rate in requests/s (0: closed),
    # and the window's sends that left late (> 10 ms) or not at all (the in-flight cap, which
    # ``users`` then holds, was reached)
    rate: float = 0.0
    late: int = 0
    dropped: int = 0
    # Analysis only, never saved: the endpoint this stands for inside a mix's samples (the
    # rows whose ``name`` is it); "" = every row. See ``Run.parts``.
    only: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError(f"measurement {self.id}: users must be ≥ 1")
        if self.rate < 0:
            raise ValueError(f"measurement {self.id}: rate must be ≥ 0")
        if self.status not in MEASUREMENT_STATUSES:
            raise ValueError(f"measurement {self.id}: unknown status {self.status!r}")
        if self.status != "failed" and self.window_end <= self.window_start:
            raise ValueError(f"measurement {self.id}: empty measurement window")

    @property
    def level(self) -> str:
        """Where it was measured: "50 users", or "400 req/s offered" (the open model)."""
        return f"{self.rate:,g} req/s offered" if self.rate else f"{self.users} users"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        names = {f.name for f in fields(cls)}
        optional = ("status", "error", "cpu", "attempt", "only", "rate", "late", "dropped")
        missing = sorted(n for n in names if n not in data and n not in optional)
        if missing:
            raise ValueError(f"measurement {data.get('id', '?')}: missing {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Run:
    run_id: str
    status: str
    created: str
    command: list[str]
    metadata: dict[str, Any]
    scenarios: list[dict[str, Any]]
    measurements: tuple[Measurement, ...] = ()
    finished: str = ""
    note: str = ""
    schema: int = SCHEMA
    checks: list[str] = field(default_factory=list)  # bench run --check, judged by the analysis

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status: {self.status!r} is not one of {', '.join(STATUSES)}")
        if not isinstance(self.checks, list) or not all(isinstance(c, str) for c in self.checks):
            raise ValueError(f"checks: expected a list of strings, got {self.checks!r}")

    def with_measurement(self, measurement: Measurement) -> Run:
        return replace(self, measurements=(*self.measurements, measurement))

    def finish(self, status: str, note: str = "") -> Run:
        return replace(self, status=status, finished=now_iso(), note=note or self.note)

    def scenario(self, name: str) -> dict[str, Any]:
        for scenario in self.scenarios:
            if scenario["name"] == name:
                return scenario
        raise KeyError(name)

    def model(self, scenario: str, endpoint: str) -> dict[str, Any]:
        """The capacity model of ``endpoint`` (its label) in ``scenario``; {} if none."""
        for record in self.scenarios:
            if record.get("name") != scenario:
                continue
            for item in record.get("endpoints", []):
                if item.get("label") == endpoint:
                    return {k: item[k] for k in MODEL_FIELDS if k in item}
        return {}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["measurements"] = [
            {k: v for k, v in asdict(m).items() if k != "only"} for m in self.measurements
        ]
        return data

    def parts(self, measurement: Measurement) -> list[Measurement]:
        """A mix measurement seen per endpoint: one ``Measurement`` per part, labelled
        "<endpoint> (in <mix>)", with the endpoint's variant and path, reading only its rows
        of the shared samples file ([] for a measurement that is not a mix)."""
        if measurement.variant != MIX:
            return []
        record = next((s for s in self.scenarios if s.get("name") == measurement.scenario), {})
        mix = next((x for x in record.get("mixes", []) if x["label"] == measurement.endpoint), None)
        endpoints = {e["label"]: e for e in record.get("endpoints", [])}
        found = []
        for name, _weight in mix["parts"] if mix else []:
            endpoint = endpoints.get(name, {})
            found.append(
                replace(
                    measurement,
                    id=f"{measurement.id}--{name}",
                    endpoint=f"{name} (in {measurement.endpoint})",
                    variant=endpoint.get("variant", "sync"),
                    path=endpoint.get("path", ""),
                    only=name,
                )
            )
        return found


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_dir(out: Path, label: str) -> Path:
    """``out/<UTC timestamp>-<label>[-N]``: created exclusively, so runs never overwrite."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        suffix = f"-{attempt}" if attempt else ""
        candidate = out / f"{stamp}-{label}{suffix}"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise BenchError(f"cannot create a new run folder in {out}")


def save(run_dir: Path, run: Run) -> Path:
    """Write ``results.json`` atomically (temp file + rename): a crash never leaves half a file."""
    text = json.dumps(run.to_dict(), indent=1, sort_keys=True)
    # the last line of defence: whatever a record carries, no password reaches the disk
    return write_atomic(run_dir / RESULTS_FILE, mask_secrets(text) + "\n")


def load(run_dir: Path) -> Run:
    """Read and validate a run folder; every failure is a one-line ``BenchError``."""
    path = run_dir / RESULTS_FILE
    if not run_dir.is_dir():
        raise BenchError(f"{run_dir}: no such folder")
    if not path.is_file():
        raise BenchError(f"{run_dir}: not a run folder (no {RESULTS_FILE}); runs are in reports/")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchError(f"{path}: unreadable results ({exc})") from None
    if not isinstance(data, dict) or "schema" not in data:
        raise BenchError(f"{path}: not a results document (no 'schema' field)")
    if data["schema"] not in READABLE_SCHEMAS:
        raise BenchError(
            f"{path}: results schema {data['schema']!r} is not supported (this version reads "
            f"schema {' and '.join(map(str, READABLE_SCHEMAS))}); use the bench version that "
            "wrote it"
        )
    if data["schema"] == 1:
        data = _from_schema_1(data)
    if data.get("status") == "running" and _harness_gone(data.get("metadata")):
        pid = data["metadata"]["harness_pid"]
        data = {
            **data,
            "status": "incomplete",
            "note": f"the harness was killed (PID {pid} is gone)",
        }
    try:
        measurements = tuple(Measurement.from_dict(m) for m in data.get("measurements", []))
        names = {f.name for f in fields(Run)}
        missing = sorted(
            n
            for n in ("run_id", "status", "created", "command", "metadata", "scenarios")
            if n not in data
        )
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        kwargs = {k: v for k, v in data.items() if k in names and k != "measurements"}
        return Run(**kwargs, measurements=measurements)
    except (TypeError, ValueError) as exc:
        raise BenchError(f"{path}: invalid results: {exc}") from None


def _harness_gone(metadata: Any) -> bool:
    """Was the run written by a harness on this machine that no longer exists?"""
    if not isinstance(metadata, dict) or metadata.get("hostname") != socket.gethostname():
        return False
    pid, started = metadata.get("harness_pid"), metadata.get("harness_started")
    if not isinstance(pid, int):
        return False
    try:
        process = psutil.Process(pid)
        alive = process.status() != psutil.STATUS_ZOMBIE
        return not alive or (started is not None and abs(process.create_time() - started) > 1)
    except psutil.Error:
        return True


def _from_schema_1(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 → 2: each measurement's copy of its model (what schema 1 read) goes into its
    endpoint's record."""
    scenarios = {s.get("name"): s for s in data.get("scenarios", []) if isinstance(s, dict)}
    for m in data.get("measurements", []):
        if not isinstance(m, dict):
            continue
        model = m.pop("model", None)
        record = scenarios.get(m.get("scenario"))
        if not isinstance(model, dict) or not isinstance(record, dict):
            continue
        for item in record.get("endpoints", []):
            if item.get("label") == m.get("endpoint"):
                item.update({k: v for k, v in model.items() if k in MODEL_FIELDS})
    return {**data, "schema": SCHEMA}


def concurrent_runs(run_dir: Path, run: Run) -> list[dict[str, Any]]:
    """Other runs that measured on this machine at the same time as ``run`` (both ways)."""
    found = list(run.metadata.get("concurrent_with", []))
    try:
        found += json.loads((run_dir / CONCURRENT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    return [f for f in found if isinstance(f, dict)]


def point_latest(out: Path, run_dir: Path) -> None:
    """Make ``out/latest`` a relative symlink to ``run_dir`` (replaced atomically)."""
    link = out / "latest"
    tmp = out / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    try:
        tmp.symlink_to(run_dir.name)
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
