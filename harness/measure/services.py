"""Services a scenario needs besides the app (``Scenario.services``): the upstream stand-in and a
database.

``start`` brings them up among the scenario's ``Children`` (so they are stopped with it, on
success, error or Ctrl-C) and returns the ``BENCH_*`` settings that point the app at them, plus
what to record in results. Nothing here needs installing: the upstream is our own process, the
database an embedded PostgreSQL (binaries from PyPI's ``pgserver``) or SQLite.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.measure import database
from harness.measure.pinning import Pinning
from harness.measure.postgres import EmbeddedPostgres, find_postgres_bin
from harness.measure.processes import HOST, Children, free_port, wait_ready
from scenarios.model import Scenario
from target_app.settings import env_name, redact_url

DATABASES = ("postgres", "sqlite")


@dataclass(frozen=True)
class ServiceOptions:
    database: str = "postgres"  # postgres (embedded, or database_url) | sqlite
    database_url: str = ""  # the user's own PostgreSQL instead of the embedded one


@dataclass
class Started:
    env: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Where:
    """Where a scenario's services run and log."""

    children: Children
    run_dir: Path
    pinning: Pinning

    def log(self, name: str) -> Path:
        return self.run_dir / "logs" / name


def start(
    scenario: Scenario,
    where: Where,
    options: ServiceOptions,
    settings: Mapping[str, Any],
) -> Started:
    """Every service ``scenario`` names, up and ready; ``settings`` are the app's (pool sizes)."""
    started = Started()
    if "upstream" in scenario.services:
        url = _start_upstream(scenario, where)
        started.env[env_name("upstream_url")] = url
        started.record["upstream"] = {
            "url": url,
            "cpus": list(where.pinning.upstream),
            "latency": "per request (latency_ms parameter)",
        }
    if "database" in scenario.services:
        url, record = provide_database(scenario, where, options, {**scenario.settings, **settings})
        started.env[env_name("database_url")] = url
        started.record["database"] = record
    return started


def _start_upstream(scenario: Scenario, where: Where) -> str:
    port = free_port()
    argv = [sys.executable, "-m", "target_app.upstream", "--host", HOST, "--port", str(port)]
    log = where.log(f"{scenario.name}-upstream.log")
    child = where.children.spawn(  # stateless, no children: SIGKILL if the harness is gone
        "upstream", argv, log_path=log, cpus=where.pinning.upstream, death_signal="KILL"
    )
    url = f"http://{HOST}:{port}"
    wait_ready(child, f"{url}/health", 30.0, "the upstream service")
    where.children.watch(child)
    return url


def preflight(scenarios: list[Scenario], options: ServiceOptions) -> None:
    """Fail fast, before any folder is made or load is sent: an unreachable database URL (named
    without its password), PostgreSQL binaries that are not there."""
    if not any("database" in s.services for s in scenarios):
        return
    if options.database_url:
        database.check_database_url(options.database_url)
    elif options.database == "postgres":
        find_postgres_bin()


def provide_database(
    scenario: Scenario, where: Where, options: ServiceOptions, settings: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """A seeded database for the scenario: the user's PostgreSQL, an embedded one, or SQLite."""
    if options.database_url:
        info = database.check_database_url(options.database_url)
        url = options.database_url
        record: dict[str, Any] = {"kind": "postgres (user-provided)", **info}
    elif options.database == "sqlite":
        folder = where.run_dir / "db"
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
        server = where.children.add(
            EmbeddedPostgres(max_connections=max_connections, cpus=set(where.pinning.database))
        )
        server.start()
        where.children.watch(server)
        url = server.url
        record = {
            "kind": "postgres (embedded)",
            "pid": server.pid,
            **database.database_info(url),
            **server.metadata(),
        }
    seeded = database.seed_items(url)
    record["seed"] = {
        "rows": seeded.rows,
        "created": seeded.created,
        "seconds": round(seeded.seconds, 3),
    }
    record["url"] = redact_url(url)
    return url, record
