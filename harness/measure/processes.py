"""Child processes of a run: start, pin, wait until ready, and always stop.

Every child runs in its own session (so a terminal's Ctrl-C reaches only the harness, which then
stops the children in order) through ``harness.measure.launch`` (CPU pinning set before the
child starts any thread where the OS can pin, and SIGTERM if the harness dies: from the kernel
on Linux, from the launcher watching its parent elsewhere). ``Children`` is a context manager:
whatever happens inside — success, error, KeyboardInterrupt — every child it started is stopped
by PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

import httpx

from harness import affinity
from harness.errors import BenchError, ChildDied
from harness.files import tail

HOST = "127.0.0.1"
T = TypeVar("T", bound="Stoppable")


def how_it_ended(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def ensure_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            raise BenchError(
                f"port {port} on {HOST} is already in use: stop what listens there, "
                "or pass another --port (0 picks a free one)"
            ) from None


class ManagedProcess:
    """One child process with a log file, pinned, in its own session."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        cpus: Sequence[int] = (),
        env: Mapping[str, str] | None = None,
        death_signal: str = "TERM",
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cpus = tuple(cpus)
        self.env = dict(env) if env is not None else None
        self.death_signal = death_signal  # what the kernel sends it if the harness dies
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was not started"
        return self.proc.pid

    def start(self) -> ManagedProcess:
        launch = [sys.executable, "-m", "harness.measure.launch", "--signal", self.death_signal]
        launch += ["--parent", str(os.getpid())]
        if self.cpus and affinity.can_pin():  # unpinned where the OS cannot (macOS)
            launch += ["--cpus", ",".join(map(str, self.cpus))]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [*launch, "--", *self.argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM the child's process group, then SIGKILL what is left after ``grace_s``."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            if self.wait(grace_s) is None:
                self._signal_group(signal.SIGKILL)
                self.wait(5.0)
        self._signal_group(signal.SIGKILL)  # stragglers of the group (e.g. pool workers)

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def tail(self, lines: int = 3) -> str:
        return tail(self.log_path, lines)

    def exit_reason(self) -> str:
        """How it ended and its last log lines: "killed by SIGKILL; last output: …"."""
        code = self.proc.returncode if self.proc is not None else None
        return f"{how_it_ended(code)}; last output: {self.tail() or 'none'}"


class Stoppable(Protocol):
    def stop(self) -> None: ...


class Watched(Stoppable, Protocol):
    """A child the run depends on: if it exits, the run stops."""

    name: str

    def running(self) -> bool: ...
    def exit_reason(self) -> str: ...


class Children:
    """Owns every child of a scenario; stops them all (last started first) on exit."""

    def __init__(self) -> None:
        self.children: list[Stoppable] = []
        self.watched: list[Watched] = []

    def __enter__(self) -> Children:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    def add(self, child: T) -> T:
        self.children.append(child)
        return child

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        cpus: Sequence[int] = (),
        env: Mapping[str, str] | None = None,
        death_signal: str = "TERM",
    ) -> ManagedProcess:
        """Start a managed child (pinned, own session, dies with us) and own it."""
        child = ManagedProcess(
            name, argv, log_path=log_path, cpus=cpus, env=env, death_signal=death_signal
        )
        return self.add(child.start())

    def watch(self, child: Watched) -> None:
        """The run depends on ``child``: ``check`` fails as soon as it has exited."""
        self.watched.append(child)

    def check(self, during: str) -> None:
        """Raise ``ChildDied`` naming the first watched child that is no longer running."""
        for child in self.watched:
            if child in self.children and not child.running():
                raise ChildDied(f"the {child.name} exited during {during} ({child.exit_reason()})")

    def release(self, child: Stoppable) -> None:
        """Stop one child now (e.g. a finished load generator) and forget it."""
        if child in self.children:
            self.children.remove(child)
        if child in self.watched:
            self.watched.remove(child)
        child.stop()

    def stop_all(self) -> None:
        # Ctrl-C pressed twice must not leave children behind: ignore SIGINT while stopping.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
        try:
            while self.children:
                self.children.pop().stop()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def pids(self) -> list[int]:
        return [int(getattr(c, "pid", 0)) for c in self.children if getattr(c, "pid", 0)]


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def wait_ready(child: ManagedProcess, url: str, timeout_s: float, what: str) -> dict[str, Any]:
    """Poll ``url`` until it answers 200 with JSON; fail with the child's last log lines."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not child.running():
                raise BenchError(f"{what} failed to start: {child.tail() or 'no output'}")
            try:
                response = client.get(url)
                if response.status_code == 200:
                    result: dict[str, Any] = response.json()
                    return result
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise BenchError(
        f"{what} did not answer {url} within {timeout_s:.0f}s: {child.tail() or 'no output'}"
    )
