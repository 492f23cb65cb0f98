"""gunicorn worker classes for ``bench run --server gunicorn``: uvicorn's worker (from the
``uvicorn-worker`` package) with the event loop and HTTP parser the run asks for.

gunicorn names its worker class on the command line (``-k module:Class``), and uvicorn's worker
reads the loop and parser from its class attribute ``CONFIG_KWARGS``: so there is one class per
combination, ``Uvicorn_<loop>_<http>`` (``harness.measure.server.worker_class`` names them).
Imported only by gunicorn's worker processes.
"""

from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker

LOOPS = ("auto", "asyncio", "uvloop")
HTTPS = ("auto", "h11", "httptools")


def _worker(loop: str, http: str) -> type[UvicornWorker]:
    config: dict[str, Any] = {"loop": loop, "http": http, "access_log": False}
    return type(f"Uvicorn_{loop}_{http}", (UvicornWorker,), {"CONFIG_KWARGS": config})


for _loop in LOOPS:
    for _http in HTTPS:
        globals()[f"Uvicorn_{_loop}_{_http}"] = _worker(_loop, _http)
