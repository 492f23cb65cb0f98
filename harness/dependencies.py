"""Services a scenario needs besides the app: the upstream stand-in and a database.

``start`` brings them up inside the scenario's ``Services`` (so they are stopped with it) and
returns the ``BENCH_*`` settings that point the app at them, plus what to record in results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.services import Pinning, Services
from scenarios.model import Scenario


@dataclass(frozen=True)
class Options:
    database: str = "postgres"  # postgres (embedded) | sqlite
    database_url: str = ""  # the user's own PostgreSQL instead of the embedded one
    upstream_latency_ms: float | None = None


@dataclass
class Started:
    env: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)


def start(
    scenario: Scenario, services: Services, options: Options, run_dir: Path, pinning: Pinning
) -> Started:
    started = Started()
    for name in scenario.services:
        raise BenchError(f"scenario {scenario.name}: service {name!r} is not available yet")
    return started
