"""Each server shape's command line, and the folder of a several-worker app's sockets."""

from __future__ import annotations

import importlib

import pytest

from harness.errors import BenchError
from harness.measure import server
from scenarios.shape import HTTPS, LOOPS, ServerShape

FACTORY = "target_app.main:app_from_env"


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_uvicorn_serves_the_factory_with_the_shapes_workers_loop_and_parser() -> None:
    argv = server.argv(8123, FACTORY, ServerShape(workers=3, loop="asyncio", http="h11"))
    assert argv[1:4] == ["-m", "uvicorn", FACTORY] and "--factory" in argv
    assert _option(argv, "--host") == "127.0.0.1" and _option(argv, "--port") == "8123"
    assert _option(argv, "--workers") == "3"
    assert (_option(argv, "--loop"), _option(argv, "--http")) == ("asyncio", "h11")
    assert "--no-access-log" in argv


def test_gunicorn_calls_the_factory_and_binds_loopback_with_uvicorn_workers() -> None:
    argv = server.argv(8123, FACTORY, ServerShape(server="gunicorn", workers=2, loop="uvloop"))
    assert argv[1:4] == ["-m", "gunicorn", f"{FACTORY}()"]
    assert _option(argv, "--bind") == "127.0.0.1:8123" and _option(argv, "--workers") == "2"
    worker = _option(argv, "--worker-class")
    assert worker == "target_app.gunicorn_workers.Uvicorn_uvloop_auto"
    assert "--access-logfile" not in argv  # gunicorn logs no request unless asked


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("http", HTTPS)
def test_every_loop_and_parser_has_its_gunicorn_worker_class(loop: str, http: str) -> None:
    module = importlib.import_module("target_app.gunicorn_workers")
    worker = getattr(module, server.worker_class(loop, http))
    assert worker.CONFIG_KWARGS["loop"] == loop and worker.CONFIG_KWARGS["http"] == http
    assert worker.CONFIG_KWARGS["access_log"] is False


def test_one_worker_needs_no_socket_folder() -> None:
    with server.Workers(ServerShape()) as workers:
        assert not workers.active and workers.env() == {} and workers.pids() == []
        workers.wait(lambda: True)  # nothing to wait for


def test_several_workers_get_a_private_folder_removed_afterwards() -> None:
    with server.Workers(ServerShape(workers=2)) as workers:
        assert workers.active and workers.folder is not None and workers.folder.is_dir()
        assert len(str(workers.folder)) < 60  # room for '<pid>.sock' under 108 bytes
        folder = workers.folder
        assert workers.env() == {"BENCH_WORKER_SOCKETS": str(folder)}
    assert not folder.exists()


def test_workers_that_do_not_all_start_fail_with_how_many_did() -> None:
    with (
        server.Workers(ServerShape(workers=2)) as workers,
        pytest.raises(BenchError, match="only 0 of 2 app workers started"),
    ):
        workers.wait(lambda: False, timeout_s=0.1)
