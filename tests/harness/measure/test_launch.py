"""The launcher where the OS has no affinity and no parent-death signal (macOS): it runs the
command as its child and watches the harness instead. Real processes throughout; the missing
calls are taken away (monkeypatch in this process, ``BENCH_SIMULATE_NO_AFFINITY`` in others)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness import affinity
from harness.measure import launch
from harness.measure.processes import ManagedProcess

LAUNCH = [sys.executable, "-m", "harness.measure.launch"]
SIMULATED = {**os.environ, affinity.SIMULATE_ENV: "1"}


def _sleeper(pid_file: Path) -> list[str]:
    """A command that writes its PID, then sleeps for a minute."""
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    return [sys.executable, "-c", code]


def _wait_for_pid(path: Path, timeout_s: float = 20.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} was never written")


def _gone(pid: int, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_the_watcher_returns_the_commands_exit_code() -> None:
    command = [sys.executable, "-c", "import sys; sys.exit(3)"]
    assert launch.watch(command, os.getppid(), signal.SIGTERM) == 3


def test_the_watcher_stops_the_command_when_the_harness_is_gone(tmp_path: Path) -> None:
    """Told the wrong parent (as if the harness had died), it sends the death signal at once."""
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    started = time.monotonic()
    code = launch.watch(command, os.getppid() + 100_000, signal.SIGTERM, poll_s=0.05)
    assert code == -signal.SIGTERM
    assert time.monotonic() - started < 10


def test_a_command_that_ignores_the_death_signal_is_killed_after_the_grace() -> None:
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    # ignored from its first instruction: a child inherits an ignored signal
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        code = launch.watch(command, os.getppid() + 100_000, signal.SIGTERM, grace_s=0.5)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert code == -signal.SIGKILL


def test_the_watcher_ends_as_the_command_did_and_passes_sigterm_on(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    argv = [*LAUNCH, "--parent", str(os.getpid()), "--", *_sleeper(pid_file)]
    launcher = subprocess.Popen(argv, env=SIMULATED)
    try:
        command = _wait_for_pid(pid_file)
        assert command != launcher.pid, "watched, not exec'd"
        assert psutil.Process(command).ppid() == launcher.pid
        launcher.send_signal(signal.SIGTERM)  # to the launcher alone: it passes it on
        assert launcher.wait(20) == -signal.SIGTERM  # "killed by SIGTERM", as if exec'd
        assert _gone(command)
    finally:
        launcher.kill()


def test_a_dead_harness_takes_the_watched_command_with_it(tmp_path: Path) -> None:
    """A stand-in harness starts a managed child (launcher → command) and is SIGKILLed: the
    launcher sees its parent change and stops the command; nothing is left."""
    pid_file = tmp_path / "pid"
    log = tmp_path / "x.log"
    harness = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from harness.measure.processes import ManagedProcess\n"
        f"child = ManagedProcess('sleeper', {_sleeper(pid_file)!r}, log_path=Path({str(log)!r}))\n"
        "print(child.start().pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    stand_in = subprocess.Popen(
        [sys.executable, "-c", harness], env=SIMULATED, stdout=subprocess.PIPE, text=True
    )
    ours: list[psutil.Process] = []  # (psutil refuses to signal a reused PID)
    try:
        assert stand_in.stdout is not None
        launcher = int(stand_in.stdout.readline())
        command = _wait_for_pid(pid_file)
        ours += [psutil.Process(launcher), psutil.Process(command)]
        assert ours[1].ppid() == launcher
        stand_in.kill()
        stand_in.wait(10)
        assert _gone(command), "the command outlived its harness"
        assert _gone(launcher), "the launcher outlived its harness"
    finally:
        stand_in.kill()
        if stand_in.stdout is not None:
            stand_in.stdout.close()
        for process in ours:  # still running only if the test failed
            with contextlib.suppress(psutil.Error):
                process.kill()


def test_a_watcher_whose_harness_is_already_gone_never_starts_the_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    wrong = [*LAUNCH, "--signal", "KILL", "--parent", str(os.getpid() + 100_000), "--", *command]
    assert subprocess.run(wrong, env=SIMULATED, timeout=30).returncode == -signal.SIGKILL
    assert not marker.exists()


def test_without_the_calls_nothing_is_pinned_and_no_signal_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``os.sched_setaffinity`` gone (macOS): the child starts unpinned, with no ``--cpus``."""
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert affinity.pin_self([0]) is False
    monkeypatch.setattr(sys, "platform", "darwin")
    assert affinity.die_with_parent(signal.SIGTERM) is False
    child = ManagedProcess(
        "sleeper", _sleeper(tmp_path / "pid"), log_path=tmp_path / "s.log", cpus=[0]
    )
    child.start()
    try:
        _wait_for_pid(tmp_path / "pid")
        assert "--cpus" not in psutil.Process(child.pid).cmdline()
    finally:
        child.stop(grace_s=1.0)


def test_on_linux_the_kernel_is_asked_and_the_command_is_execd(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    pid_file = tmp_path / "pid"
    argv = [*LAUNCH, "--parent", str(os.getpid()), "--", *_sleeper(pid_file)]
    env = {k: v for k, v in os.environ.items() if k != affinity.SIMULATE_ENV}
    launcher = subprocess.Popen(argv, env=env)
    try:
        assert _wait_for_pid(pid_file) == launcher.pid, "exec'd: the same process"
    finally:
        launcher.kill()
        launcher.wait(10)
