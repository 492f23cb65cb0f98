"""The versioned results document of a run, saved atomically and loaded with validation.

Format history (``"schema"``):
  1 — run metadata, scenarios, measurements (each pointing at its raw samples CSV, its Locust
      window metadata and its server-metrics series, all relative to the run folder).

A run folder holds ``results.json`` (this document), ``samples/<id>.csv``, ``metrics/<id>.json``,
``logs/`` and, once reported, the PNGs and ``index.html``. A report is rebuilt from these alone.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import BenchError

SCHEMA = 1
RESULTS_FILE = "results.json"
STATUSES = ("running", "complete", "incomplete", "failed")


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
    model: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError(f"measurement {self.id}: users must be ≥ 1")
        if self.status not in ("ok", "failed"):
            raise ValueError(f"measurement {self.id}: unknown status {self.status!r}")
        if self.status == "ok" and self.window_end <= self.window_start:
            raise ValueError(f"measurement {self.id}: empty measurement window")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        names = {f.name for f in fields(cls)}
        missing = sorted(
            n for n in names if n not in data and n not in ("status", "error", "model")
        )
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

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status: {self.status!r} is not one of {', '.join(STATUSES)}")

    def with_measurement(self, measurement: Measurement) -> Run:
        return replace(self, measurements=(*self.measurements, measurement))

    def finish(self, status: str, note: str = "") -> Run:
        return replace(self, status=status, finished=now_iso(), note=note or self.note)

    def scenario(self, name: str) -> dict[str, Any]:
        for scenario in self.scenarios:
            if scenario["name"] == name:
                return scenario
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["measurements"] = [asdict(m) for m in self.measurements]
        return data


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
    target = run_dir / RESULTS_FILE
    text = json.dumps(run.to_dict(), indent=1, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".results-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


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
    if data["schema"] != SCHEMA:
        raise BenchError(
            f"{path}: results schema {data['schema']!r} is not supported (this version reads "
            f"schema {SCHEMA}); use the bench version that wrote it"
        )
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
