"""Who used the pinned cores during a measurement: the per-CPU times and our processes' times.

The runner samples, every 0.5 s while a measurement runs (``harness/measure/cpu_sampler.py``),
the kernel's per-CPU times (``/proc/stat``: busy = user + nice + system, and steal) and the CPU
time of every process of ours (the app, Locust, the upstream stand-in, the database, their
children, and the harness itself). It writes them to ``metrics/<id>.cpu.json``; the analysis
(``harness/analysis/disturbance.py``) reads them back with ``load``: the time the pinned cores
were busy that none of our processes used is a foreign process's. The file's keys are written
here and nowhere else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.files import write_atomic

FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@dataclass(frozen=True)
class CpuTimes:
    """One reading: per CPU (busy seconds, steal seconds), and our processes' CPU seconds by
    the CPUs they may run on ("1", "0,1": the harness itself is not pinned)."""

    t: float
    busy_s: Mapping[int, float]
    steal_s: Mapping[int, float]
    ours_s: Mapping[tuple[int, ...], float]

    def ours_within(self, cpus: Sequence[int]) -> float:
        """Our CPU seconds that can only have run on ``cpus``."""
        return sum(v for k, v in self.ours_s.items() if set(k) <= set(cpus))

    def ours_elsewhere(self, cpus: Sequence[int]) -> float:
        """Our CPU seconds that may have run on ``cpus`` but not only there (unpinned)."""
        return sum(
            v for k, v in self.ours_s.items() if set(k) & set(cpus) and not set(k) <= set(cpus)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "busy_s": {str(k): v for k, v in self.busy_s.items()},
            "steal_s": {str(k): v for k, v in self.steal_s.items()},
            "ours_s": {",".join(map(str, k)): v for k, v in self.ours_s.items()},
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> CpuTimes:
        return cls(
            t=float(doc["t"]),
            busy_s={int(k): float(v) for k, v in doc["busy_s"].items()},
            steal_s={int(k): float(v) for k, v in doc.get("steal_s", {}).items()},
            ours_s={
                tuple(int(c) for c in k.split(",")): float(v) for k, v in doc["ours_s"].items()
            },
        )


@dataclass(frozen=True)
class CpuSeries:
    """A measurement's readings and which CPUs were pinned for what."""

    pinned: Mapping[str, tuple[int, ...]]  # role → CPUs: "app", "loadgen"
    readings: tuple[CpuTimes, ...]

    @property
    def cpus(self) -> tuple[int, ...]:
        return tuple(sorted({c for cpus in self.pinned.values() for c in cpus}))


def parse_proc_stat(text: str, ticks_per_s: float) -> tuple[dict[int, float], dict[int, float]]:
    """``/proc/stat``'s ``cpuN`` lines → ({cpu: busy s}, {cpu: steal s}). Busy is user + nice +
    system: interrupt time is left out (the kernel's own work for our sockets lands there and
    is no process's)."""
    busy, steal = {}, {}
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu":
            continue
        values = dict(zip(FIELDS, (int(v) for v in rest.split()), strict=False))
        cpu = int(name[3:])
        busy[cpu] = (values["user"] + values["nice"] + values["system"]) / ticks_per_s
        steal[cpu] = values.get("steal", 0) / ticks_per_s
    return busy, steal


def clock_ticks() -> float:
    return float(os.sysconf("SC_CLK_TCK"))


def save(path: Path, pinned: Mapping[str, Sequence[int]], readings: Sequence[CpuTimes]) -> None:
    doc = {
        "pinned": {role: list(cpus) for role, cpus in pinned.items()},
        "readings": [r.to_dict() for r in readings],
    }
    write_atomic(path, json.dumps(doc, indent=0, sort_keys=True))  # never half a file


def load(path: Path) -> CpuSeries | None:
    """A measurement's CPU readings; None when it has none (older runs, no /proc)."""
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        pinned = {str(k): tuple(int(c) for c in v) for k, v in doc["pinned"].items()}
        readings = tuple(CpuTimes.from_dict(r) for r in doc["readings"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BenchError(f"{path}: unreadable CPU times ({exc})") from None
    return CpuSeries(pinned, readings)
