"""Managed children: pinned before they start, owned by ``Children``, always stopped by PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.errors import BenchError, ChildDied
from harness.files import tail, write_atomic
from harness.measure.processes import Children, ManagedProcess, ensure_port_free, wait_ready

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_for_output(path: Path, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and "up" not in tail(path):
        time.sleep(0.05)


def test_spawn_pins_the_child_and_release_stops_it(tmp_path: Path) -> None:
    cpu = min(os.sched_getaffinity(0))
    with Children() as children:
        child = children.spawn("sleeper", SLEEPER, log_path=tmp_path / "s.log", cpus=[cpu])
        _wait_for_output(tmp_path / "s.log")
        assert psutil.Process(child.pid).cpu_affinity() == [cpu]
        assert children.pids() == [child.pid]
        children.release(child)
        assert _gone(child.pid) and children.pids() == []


def test_every_child_is_stopped_when_the_block_fails(tmp_path: Path) -> None:
    pids = []
    with pytest.raises(KeyboardInterrupt), Children() as children:
        for name in ("a", "b"):
            pids.append(children.spawn(name, SLEEPER, log_path=tmp_path / f"{name}.log").pid)
        raise KeyboardInterrupt
    assert all(_gone(pid) for pid in pids)


def test_wait_ready_names_a_child_that_died_with_its_last_words(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('bad config: no such thing'); sys.exit(3)"]
    with Children() as children:
        child = children.spawn("app", argv, log_path=tmp_path / "app.log")
        with pytest.raises(BenchError, match="the app failed to start: bad config"):
            wait_ready(child, "http://127.0.0.1:9/", 10.0, "the app")


def test_a_child_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        " print('up', flush=True); time.sleep(60)",
    ]
    child = ManagedProcess("stubborn", stubborn, log_path=tmp_path / "x.log").start()
    _wait_for_output(tmp_path / "x.log")
    child.stop(grace_s=0.5)
    assert _gone(child.pid)


def test_ensure_port_free_refuses_a_port_in_use() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(BenchError, match="already in use"):
            ensure_port_free(sock.getsockname()[1])


def test_write_atomic_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "doc.json"
    target.write_text("x" * 10_000)
    write_atomic(target, "{}\n")
    assert target.read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]
    assert tail(tmp_path / "absent.log", default="(no log)") == "(no log)"


def test_check_names_a_watched_child_that_died(tmp_path: Path) -> None:
    with Children() as children:
        child = children.spawn("app", SLEEPER, log_path=tmp_path / "app.log")
        children.watch(child)
        _wait_for_output(tmp_path / "app.log")
        children.check("sleep: sync sleep @ 10 users (#1)")  # alive: nothing to say
        psutil.Process(child.pid).kill()
        child.wait(5.0)
        with pytest.raises(ChildDied) as died:
            children.check("sleep: sync sleep @ 10 users (#1)")
    message = str(died.value)
    assert message.startswith("the app exited during sleep: sync sleep @ 10 users (#1)")
    assert "killed by SIGKILL" in message and "last output: up" in message
    assert died.value.exit_code == 3


def test_a_child_whose_harness_died_before_it_could_ask_to_be_told_never_runs(
    tmp_path: Path,
) -> None:
    """The launcher asks Linux for a signal when its parent dies; if the parent was already gone
    (killed while the launcher's Python was starting), it must not run the command orphaned."""
    marker = tmp_path / "ran"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    launch = [sys.executable, "-m", "harness.measure.launch", "--signal", "KILL"]
    wrong_parent = [*launch, "--parent", str(os.getpid() + 100_000), "--", *command]
    assert subprocess.run(wrong_parent, timeout=30).returncode == -9
    assert not marker.exists()
    right_parent = [*launch, "--parent", str(os.getpid()), "--", *command]
    assert subprocess.run(right_parent, timeout=30).returncode == 0
    assert marker.exists()
