"""Locust's distributed mode as the harness drives it: a master, local and remote workers.

``bench run --loadgen-processes N`` starts one Locust master and N Locust workers on this
machine, each worker pinned to one of the load-generator cores (round-robin when there are fewer
cores than workers); ``--loadgen-remote R --master-bind ADDR[:PORT]`` makes the master wait for
R more workers started elsewhere by ``bench worker --master HOST:PORT`` (``serve``). Locust
splits the users; the recorder's cluster (``locustfiles/cluster.py``) streams every worker's raw
samples to the master through Locust's custom messages, so nothing depends on a shared file
system: the master alone writes the measurement's files. Its settings reach the workers from
the master (Locust hands a master's custom options to its workers), never from a worker's
environment.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from harness.errors import BenchError
from harness.measure.processes import Children, free_port

LOCUSTFILE = Path(__file__).resolve().parents[2] / "locustfiles" / "endpoint.py"
DEFAULT_BIND = "127.0.0.1"
DEFAULT_PORT = 5557  # Locust's own default master port: remote workers find it without a port
CONNECT_TIMEOUT_S = 60.0  # how long the master waits for its workers before failing
WORKER_RESTART_S = 1.0  # ``bench worker``: pause before reconnecting for the next measurement
MAX_FAILURES = 3  # ``bench worker``: Locust workers that failed in a row before giving up


@dataclass(frozen=True)
class Cluster:
    """Where a measurement's load comes from: ``local`` Locust worker processes on this machine
    and ``remote`` ones elsewhere, around a master bound to ``bind``:``port`` (0: a free port on
    127.0.0.1, or ``DEFAULT_PORT`` when remote workers must find it). One local process and no
    remote one is the plain single Locust process (not distributed)."""

    local: int = 1
    remote: int = 0
    bind: str = DEFAULT_BIND
    port: int = 0
    connect_timeout_s: float = CONNECT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.local < 0 or self.remote < 0 or self.local + self.remote < 1:
            raise ValueError("a load generator needs at least one Locust process")

    @property
    def distributed(self) -> bool:
        return self.local > 1 or self.remote > 0

    @property
    def workers(self) -> int:
        return self.local + self.remote

    def master_port(self) -> int:
        if self.port:
            return self.port
        return DEFAULT_PORT if self.remote else free_port()

    def to_dict(self) -> dict[str, object]:
        return {"local": self.local, "remote": self.remote, "bind": self.bind}


def parse_address(text: str, option: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``HOST[:PORT]`` (an IPv4 address or a host name) → (host, port); one-line error else."""
    host, _, port_text = text.strip().rpartition(":") if ":" in text else (text.strip(), "", "")
    if not host or any(c.isspace() for c in host):
        raise BenchError(f"Invalid value for {option}: {text!r} is not HOST[:PORT]")
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise BenchError(
            f"Invalid value for {option}: port {port_text!r} is not a number"
        ) from None
    if port_text and not 0 < port < 65536:
        raise BenchError(f"Invalid value for {option}: port {port} is not in 1..65535")
    return host, port


def parse_bind(text: str, option: str = "--master-bind") -> tuple[str, int]:
    """The master's bind address: an IP address of this machine (0 as the port: the default)."""
    host, port = parse_address(text, option, default_port=0) if text else (DEFAULT_BIND, 0)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise BenchError(
            f"Invalid value for {option}: {host!r} is not an IP address (e.g. 127.0.0.1, or "
            "this machine's LAN address for remote workers)"
        ) from None
    return host, port


def worker_cpus(cpus: Sequence[int], workers: int) -> list[tuple[int, ...]]:
    """One core per worker from the load generator's, round-robin (() each when unpinned)."""
    if not cpus:
        return [() for _ in range(workers)]
    return [(cpus[i % len(cpus)],) for i in range(workers)]


def master_args(cluster: Cluster, port: int) -> list[str]:
    """What Locust's command line gains for a master (after the single process's arguments)."""
    return [
        "--master",
        "--master-bind-host",
        cluster.bind,
        "--master-bind-port",
        str(port),
        "--expect-workers",
        str(cluster.workers),
        # Locust's own backstop; the harness fails first, naming how many connected
        "--expect-workers-max-wait",
        str(int(cluster.connect_timeout_s + 30)),
    ]


def worker_argv(host: str, port: int, locustfile: Path = LOCUSTFILE) -> list[str]:
    """A Locust worker's command line: it gets everything else from its master."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--worker",
        "--master-host",
        host,
        "--master-port",
        str(port),
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]


def connect_error(connected: int, cluster: Cluster) -> str:
    return (
        f"only {connected} of {cluster.workers} load-generator workers connected to the master "
        f"on {cluster.bind} within {cluster.connect_timeout_s:.0f}s"
        + (
            f" ({cluster.remote} remote: start them with bench worker --master HOST:PORT)"
            if cluster.remote
            else ""
        )
    )


def serve(
    master: str,
    say: Callable[[str], None],
    log_dir: Path | None = None,
    restart_s: float = WORKER_RESTART_S,
) -> int:
    """``bench worker``: a Locust worker for ``master`` (HOST:PORT), started again after every
    measurement, until Ctrl-C or until Locust's worker gives up on a master that is gone (it
    retries for 5 minutes) ``MAX_FAILURES`` times in a row. Its log stays on this machine."""
    host, port = parse_address(master, "--master")
    log = (log_dir or Path(tempfile.gettempdir())) / f"bench-worker-{port}-{os.getpid()}.log"
    served = failures = 0
    say(f"worker for the master at {host}:{port} (log: {log}); Ctrl-C stops it")
    while failures < MAX_FAILURES:
        with Children() as children:  # Ctrl-C or a killed harness: the worker goes too
            process = children.spawn(
                "locust worker", worker_argv(host, port), log_path=log, death_signal="KILL"
            )
            code = process.wait()
        if code == 0:
            served, failures = served + 1, 0
            say(f"measurement {served} served; waiting for the next one")
        else:
            failures += 1
            say(f"the Locust worker stopped ({process.exit_reason()})")
        time.sleep(restart_s)
    raise BenchError(
        f"no master at {host}:{port} for the last {MAX_FAILURES} attempts (served {served} "
        "measurements): stopping"
    )


def cluster_of(processes: int, remote: int, bind: str) -> Cluster:
    """``--loadgen-processes``, ``--loadgen-remote`` and ``--master-bind``, checked (one-line
    errors naming the option). The open model (``--rate``) stays one process: its schedule is
    one sender (``harness.measure.request`` refuses the two together)."""

    def bad(option: str, message: str) -> BenchError:
        return BenchError(f"Invalid value for {option}: {message} (see: bench run --help)")

    if processes < 0 or remote < 0:
        raise bad("--loadgen-processes" if processes < 0 else "--loadgen-remote", "must be >= 0")
    if processes + remote < 1:
        raise bad("--loadgen-processes", "0 needs --loadgen-remote N (workers elsewhere)")
    host, port = parse_bind(bind)
    if bind and remote == 0 and processes <= 1:
        raise bad("--master-bind", "applies to --loadgen-processes N > 1 or --loadgen-remote N")
    return Cluster(local=processes, remote=remote, bind=host, port=port)


def check_reach(cluster: Cluster, target: str | None) -> None:
    """Remote workers send their requests to the app's URL: one they can reach. The harness
    serves the app on 127.0.0.1 only, so a master bound elsewhere needs ``--target`` on an
    address that is not the loopback (workers on this machine, bound to 127.0.0.1, are fine)."""
    if not cluster.remote or ipaddress.ip_address(cluster.bind).is_loopback:
        return
    host = urlsplit(target).hostname if target else None
    loopback = host is None or host == "localhost"
    if host is not None and not loopback:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False  # a host name: the user's to resolve
    if loopback:
        raise BenchError(
            "Invalid value for --loadgen-remote: remote workers cannot reach an app on "
            "127.0.0.1; serve it on an address they reach and pass --target URL "
            "(see: bench run --help)"
        )
