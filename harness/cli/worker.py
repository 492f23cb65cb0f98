"""`bench worker`: one Locust worker for a remote `bench run --loadgen-remote N`."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.cli.app import out


def worker_command(
    master: Annotated[
        str, typer.Option(metavar="HOST:PORT", help="the master: bench run --master-bind")
    ],
) -> None:
    """Serve a remote `bench run --loadgen-remote N` as one Locust worker, measurement after
    measurement, until Ctrl-C."""
    from harness.measure.distributed import serve

    try:
        serve(master, lambda line: out.print(line, soft_wrap=True, markup=False))
    except KeyboardInterrupt:
        out.print("worker stopped (Ctrl-C)")
