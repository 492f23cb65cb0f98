"""The distributed mode as the harness drives it: options checked, the master's and workers'
command lines, their cores, and the one-line errors (no Locust is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import bench
from harness.errors import BenchError
from harness.measure import distributed as dist
from harness.measure.distributed import Cluster, cluster_of
from harness.measure.loadgen import Files, Job, LoadGenerator, argv
from harness.measure.request import OptionError, RunRequest, prepare
from locustfiles.protocol import RequestSpec

JOB = Job("m", (RequestSpec("e", "/async/sleep"),), users=10, warmup_s=1.0, duration_s=2.0)


def test_one_local_process_is_not_distributed() -> None:
    assert not Cluster().distributed
    assert Cluster(local=2).distributed and Cluster(local=0, remote=1).distributed
    assert Cluster(local=2, remote=3).workers == 5
    with pytest.raises(ValueError):
        Cluster(local=0, remote=0)


def test_the_default_run_keeps_the_single_process_path() -> None:
    generator = LoadGenerator(JOB, Files.of(Path("/r"), "m"), "http://h", (1,), Cluster())
    assert generator.cluster is None
    assert "--master" not in argv(JOB, "http://h")


def test_the_master_expects_every_worker_on_its_bind_address() -> None:
    args = dist.master_args(Cluster(local=2, remote=1, bind="127.0.0.1"), 5599)
    assert args[:5] == ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", "5599"]
    assert args[args.index("--expect-workers") + 1] == "3"
    wait = int(args[args.index("--expect-workers-max-wait") + 1])
    assert wait > dist.CONNECT_TIMEOUT_S, "Locust's backstop comes after the harness's error"


def test_a_worker_gets_only_its_master_address_not_the_settings() -> None:
    command = dist.worker_argv("127.0.0.1", 5599)
    assert command[command.index("--worker") :][:5] == [
        "--worker",
        "--master-host",
        "127.0.0.1",
        "--master-port",
        "5599",
    ]
    assert not any("bench-settings" in part or "/async" in part for part in command)


@pytest.mark.parametrize(
    ("cpus", "workers", "expected"),
    [
        ((1,), 2, [(1,), (1,)]),  # this 2-core box: both workers on the generator's core
        ((4, 5, 6), 2, [(4,), (5,)]),
        ((4, 5), 3, [(4,), (5,), (4,)]),  # round-robin
        ((), 2, [(), ()]),  # not pinned
    ],
)
def test_each_worker_is_pinned_to_one_generator_core_round_robin(
    cpus: tuple[int, ...], workers: int, expected: list[tuple[int, ...]]
) -> None:
    assert dist.worker_cpus(cpus, workers) == expected


def test_local_only_masters_take_a_free_port_remote_ones_the_default() -> None:
    assert Cluster(local=2).master_port() not in (0, dist.DEFAULT_PORT)
    assert Cluster(local=0, remote=1).master_port() == dist.DEFAULT_PORT
    assert Cluster(local=0, remote=1, port=6000).master_port() == 6000


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.0.0.5:6000", ("10.0.0.5", 6000)), ("box.lan", ("box.lan", 5557))],
)
def test_a_master_address_is_host_and_port(text: str, expected: tuple[str, int]) -> None:
    assert dist.parse_address(text, "--master") == expected


@pytest.mark.parametrize("text", [":5557", "h:port", "h:0", "h:70000", "a b:1"])
def test_a_bad_master_address_is_one_line_naming_the_option(text: str) -> None:
    with pytest.raises(BenchError, match=r"^Invalid value for --master: .*$"):
        dist.parse_address(text, "--master")


def test_the_master_binds_an_ip_address_127_0_0_1_by_default() -> None:
    assert dist.parse_bind("") == ("127.0.0.1", 0)
    assert dist.parse_bind("192.168.1.20:6000") == ("192.168.1.20", 6000)
    with pytest.raises(BenchError, match="is not an IP address"):
        dist.parse_bind("my-laptop")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 0, ""), "--loadgen-processes: must be >= 0"),
        ((1, -2, ""), "--loadgen-remote: must be >= 0"),
        ((0, 0, ""), "--loadgen-processes: 0 needs --loadgen-remote N"),
        ((1, 0, "127.0.0.1"), "--master-bind: applies to --loadgen-processes N > 1"),
    ],
)
def test_cluster_options_are_checked_with_one_line_errors(
    args: tuple[int, int, str], message: str
) -> None:
    with pytest.raises(BenchError, match=message):
        cluster_of(*args)


def test_remote_workers_alone_or_beside_local_ones() -> None:
    assert cluster_of(0, 2, "127.0.0.1:6001") == Cluster(0, 2, "127.0.0.1", 6001)
    assert cluster_of(2, 1, "") == Cluster(2, 1, "127.0.0.1", 0)


def test_the_run_request_carries_the_cluster_and_refuses_the_open_model() -> None:
    prepared = prepare(RunRequest("sleep", loadgen_processes=2, calibrate=False))
    assert prepared.options.cluster == Cluster(local=2)
    with pytest.raises(OptionError, match="--rate: the open model runs in one Locust process"):
        prepare(RunRequest("sleep", rate="100", loadgen_processes=2, calibrate=False))


def test_the_connect_timeout_names_how_many_workers_came() -> None:
    text = dist.connect_error(1, Cluster(local=1, remote=2, connect_timeout_s=60))
    assert text.startswith("only 1 of 3 load-generator workers connected to the master on ")
    assert "bench worker --master HOST:PORT" in text and "\n" not in text


def test_bench_worker_with_a_bad_master_exits_2_on_one_line() -> None:
    result = CliRunner().invoke(bench.app, ["worker", "--master", "nohost:notaport"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: Invalid value for --master: port 'notaport' is not a number"
    ]


def test_bench_run_refuses_master_bind_to_a_name_before_anything_starts(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        bench.app,
        [
            "run",
            "sleep",
            "--loadgen-remote",
            "1",
            "--master-bind",
            "laptop",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2 and "is not an IP address" in result.output
    assert not list(tmp_path.iterdir()), "no run folder"


@pytest.mark.parametrize(
    ("bind", "target", "refused"),
    [
        ("127.0.0.1", None, False),  # workers on this machine reach the app on 127.0.0.1
        ("192.168.1.20", None, True),  # the bundled app: 127.0.0.1 only
        ("192.168.1.20", "http://127.0.0.1:8000", True),
        ("192.168.1.20", "http://localhost:8000", True),
        ("192.168.1.20", "http://192.168.1.20:8000", False),
        ("192.168.1.20", "http://app.lan:8000", False),
    ],
)
def test_remote_workers_need_an_app_they_can_reach(
    bind: str, target: str | None, refused: bool
) -> None:
    cluster = Cluster(local=1, remote=1, bind=bind)
    if refused:
        with pytest.raises(BenchError, match="remote workers cannot reach an app on 127.0.0.1"):
            dist.check_reach(cluster, target)
    else:
        dist.check_reach(cluster, target)
    dist.check_reach(Cluster(local=2, bind=bind), None)  # no remote worker: nothing to reach
