"""`bench serve`: the target app alone, served the way a run serves it."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from harness.cli.app import out


def serve_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="port on 127.0.0.1")] = 8000,
    threadpool_tokens: Annotated[
        int | None, typer.Option(min=1, max=10000, help="anyio thread-pool size")
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="log every request (costs throughput: off in runs)")
    ] = False,
) -> None:
    """Serve the target app alone on 127.0.0.1 (Swagger UI at /docs) until Ctrl-C, the way
    a run serves it."""
    import uvicorn

    from harness.measure.app import APP_FACTORY, uvicorn_options
    from harness.measure.processes import ensure_port_free
    from target_app.settings import env_name

    ensure_port_free(port)
    if threadpool_tokens is not None:
        os.environ[env_name("threadpool_tokens")] = str(threadpool_tokens)
    out.print(
        f"serving http://127.0.0.1:{port}  (docs: http://127.0.0.1:{port}/docs, Ctrl-C stops)"
    )
    uvicorn.run(APP_FACTORY, **uvicorn_options(port, access_log=access_log, log_level="info"))
