"""Services a scenario needs besides the app: the upstream stand-in and a database.

``start`` brings them up inside the scenario's ``Services`` (so they are stopped with it, on
success, error or Ctrl-C) and returns the ``BENCH_*`` settings that point the app at them, plus
what to record in results. Nothing here needs installing: the upstream is our own process, the
database an embedded PostgreSQL (binaries from PyPI's ``pgserver``) or SQLite.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.services import HOST, ManagedProcess, Pinning, Services, free_port, wait_ready
from scenarios.model import Scenario

DATABASES = ("postgres", "sqlite")


@dataclass(frozen=True)
class Options:
    database: str = "postgres"  # postgres (embedded, or --database-url) | sqlite
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
    if "upstream" in scenario.services:
        _start_upstream(scenario, services, run_dir, pinning, started)
    if "database" in scenario.services:
        _start_database(scenario, services, options, run_dir, pinning, started)
    return started


def _start_upstream(
    scenario: Scenario, services: Services, run_dir: Path, pinning: Pinning, started: Started
) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "target_app.upstream", "--host", HOST, "--port", str(port)]
    child = services.add(
        ManagedProcess(
            "upstream",
            argv,
            log_path=run_dir / "logs" / f"{scenario.name}-upstream.log",
            cpus=pinning.upstream,
        ).start()
    )
    url = f"http://{HOST}:{port}"
    wait_ready(child, f"{url}/health", 30.0, "the upstream service")
    started.env["BENCH_UPSTREAM_URL"] = url
    started.record["upstream"] = {"url": url, "cpus": list(pinning.upstream),
                                  "latency": "per request (latency_ms parameter)"}  # fmt: skip


def _start_database(
    scenario: Scenario,
    services: Services,
    options: Options,
    run_dir: Path,
    pinning: Pinning,
    started: Started,
) -> None:
    from harness import database  # imported lazily: only DB scenarios need it

    url, record = database.provide(
        scenario=scenario,
        services=services,
        kind=options.database,
        url=options.database_url,
        run_dir=run_dir,
        cpus=pinning.database,
    )
    started.env["BENCH_DATABASE_URL"] = url
    started.record["database"] = record


def check_options(options: Options) -> None:
    if options.database not in DATABASES:
        raise BenchError(f"--database: {options.database!r} is not one of {', '.join(DATABASES)}")
