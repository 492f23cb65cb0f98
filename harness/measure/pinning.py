"""Which CPUs each role of a run may use: the app apart from the load generator.

With two or more CPUs the app gets the first one to itself and the load generator, the upstream
stand-in and the database share the rest; with one CPU everything shares it and the run says so.
The plan is recorded in every run's metadata.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pinning:
    app: tuple[int, ...]
    loadgen: tuple[int, ...]
    upstream: tuple[int, ...]
    database: tuple[int, ...]
    note: str

    @classmethod
    def plan(cls, cpus: Sequence[int] | None = None) -> Pinning:
        """The plan for ``cpus`` (default: the CPUs this process may run on)."""
        available = sorted(cpus if cpus is not None else os.sched_getaffinity(0))
        if not available:
            raise ValueError("no CPU to pin to")
        if len(available) >= 2:
            app, rest = (available[0],), tuple(available[1:])
            listed = ",".join(map(str, rest))
            note = f"app on CPU {app[0]}; load generator, upstream and database on CPU {listed}"
            return cls(app, rest, rest, rest, note)
        everything = tuple(available)
        note = "only one CPU: app and load generator share it (results are pessimistic)"
        return cls(everything, everything, everything, everything, note)

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": list(self.app),
            "loadgen": list(self.loadgen),
            "upstream": list(self.upstream),
            "database": list(self.database),
            "note": self.note,
        }
