"""One module per workload family; each defines its sync and async handlers side by side.

A family module exposes ``router`` and, optionally, ``lifespan(app)`` (an async context manager
that opens the family's shared clients or engines and closes them on shutdown).
"""

from __future__ import annotations

from types import ModuleType

from target_app.routes import (
    background,
    baseline,
    cpu,
    database,
    fanout,
    http,
    mistakes,
    sleep,
    stream,
    threads,
    timeouts,
    websocket,
)

# cpu early: its lifespan forks the process-pool workers, before other families start threads.
FAMILIES: list[ModuleType] = [
    baseline,
    sleep,
    cpu,
    http,
    fanout,
    timeouts,
    database,
    background,
    mistakes,
    threads,
    stream,
    websocket,
]
