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
from target_app.settings import redact_url

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
    scenario: Scenario,
    services: Services,
    options: Options,
    run_dir: Path,
    pinning: Pinning,
    settings: dict[str, Any] | None = None,
) -> Started:
    started = Started()
    if "upstream" in scenario.services:
        _start_upstream(scenario, services, run_dir, pinning, started)
    if "database" in scenario.services:
        _start_database(scenario, services, options, run_dir, pinning, started, settings or {})
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
    extra_settings: dict[str, Any],
) -> None:
    settings = {**scenario.settings, **extra_settings}
    url, record = provide(
        scenario=scenario,
        services=services,
        options=options,
        run_dir=run_dir,
        cpus=pinning.database,
        settings=settings,
    )
    started.env["BENCH_DATABASE_URL"] = url
    started.record["database"] = record


def preflight(scenarios: list[Scenario], options: Options) -> None:
    """Fail fast, before any folder is made or load is sent: a bad --database, an unreachable
    --database-url (named without its password), PostgreSQL binaries that are not there."""
    if options.database not in DATABASES:
        raise BenchError(f"--database: {options.database!r} is not one of {', '.join(DATABASES)}")
    if not any("database" in s.services for s in scenarios):
        return
    from harness import database

    if options.database_url:
        database.check_database_url(options.database_url)
    elif options.database == "postgres":
        database.find_postgres_bin()


def provide(
    *,
    scenario: Scenario,
    services: Services,
    options: Options,
    run_dir: Path,
    cpus: tuple[int, ...],
    settings: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    """A seeded database for the scenario: the user's PostgreSQL, an embedded one, or SQLite."""
    from harness import database

    if options.database_url:
        info = database.check_database_url(options.database_url)
        url = options.database_url
        record: dict[str, Any] = {"kind": "postgres (user-provided)", **info}
    elif options.database == "sqlite":
        folder = run_dir / "db"
        folder.mkdir(exist_ok=True)
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        record = {
            "kind": "sqlite",
            "note": "aiosqlite runs each connection on its own thread: "
            "its async driver is a thread hop, not a socket the event loop waits on",
        }
    else:
        pool = int(settings.get("db_pool_size", 10)) + int(settings.get("db_max_overflow", 0))
        # one pool for the sync engine and one for the async engine, plus room for the seeding
        max_connections = max(100, 2 * pool + 10)
        server = services.add(
            database.EmbeddedPostgres(max_connections=max_connections, cpus=set(cpus))
        )
        server.start()
        url = server.url
        record = {"kind": "postgres (embedded)", "pid": server.pid, **server.metadata()}
    seeded = database.seed_items(url)
    record["seed"] = {
        "rows": seeded.rows,
        "created": seeded.created,
        "seconds": round(seeded.seconds, 3),
    }
    record["url"] = redact_url(url)
    return url, record
