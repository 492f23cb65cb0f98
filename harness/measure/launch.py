"""Start a command pinned to given CPUs, dying with its parent — on any OS.

``python -m harness.measure.launch [--cpus 0,1] [--signal TERM] [--parent PID] -- uvicorn …``:

- sets the CPU affinity of the new process *before* it starts any thread (so every thread it
  makes inherits it); where the OS cannot pin (``harness.affinity``), nothing is pinned (the
  runner only asks for CPUs when its plan is pinned);
- on Linux asks the kernel to send it a signal (SIGTERM unless ``--signal`` names another) if
  the harness dies without cleaning up (``PR_SET_PDEATHSIG``), then ``exec``s the command —
  unless its parent is no longer ``--parent`` (the harness died before the request could be
  made: nothing would signal it then);
- where that signal does not exist (macOS) or is refused, it cannot ``exec``: it runs the
  command as its child and **watches the parent** instead (``watch``): every
  ``POLL_S`` it compares ``os.getppid()`` with the harness's PID; once the harness is gone it
  sends the child the death signal, then SIGKILL after ``GRACE_S``. SIGTERM and SIGINT sent to
  it are passed on to the child, and it ends as the child ended (same code, same signal).

Either way the command runs in the session the harness made for it, and the harness stops it
by process group (``harness/measure/processes.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

from harness import affinity

POLL_S = 0.25  # how often the watcher looks for its parent
GRACE_S = 5.0  # between the death signal and SIGKILL
USAGE = (
    "usage: python -m harness.measure.launch [--cpus 0,1] [--signal TERM] [--parent PID] -- CMD…"
)


def watch(
    command: Sequence[str],
    parent: int,
    death: signal.Signals,
    poll_s: float = POLL_S,
    grace_s: float = GRACE_S,
) -> int:
    """Run ``command`` as a child until it ends, or until ``parent`` is no longer this
    process's parent (then ``death``, and SIGKILL after ``grace_s``); its exit status as a
    ``subprocess`` return code (negative: the signal that ended it)."""
    child = subprocess.Popen(list(command))

    def forward(signum: int, frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            try:
                return child.wait(poll_s)
            except subprocess.TimeoutExpired:
                pass
            if os.getppid() != parent:  # the harness is gone: the kernel re-parented us
                break
        child.send_signal(death)
        try:
            return child.wait(grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def end_like(code: int) -> None:
    """Exit as the child did: its exit code, or killed by the same signal (so the harness reads
    "killed by SIGKILL" whether the command was exec'd or watched)."""
    if code < 0:
        with contextlib.suppress(OSError, ValueError):  # SIGKILL has no handler to reset
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code if code >= 0 else 128 - code)


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit(USAGE)
    split = argv.index("--")
    options = dict(zip(argv[:split:2], argv[1:split:2], strict=False))
    command = argv[split + 1 :]
    if options.get("--cpus"):
        affinity.pin_self(int(c) for c in options["--cpus"].split(","))
    death = signal.Signals[f"SIG{options.get('--signal', 'TERM')}"]
    told = affinity.die_with_parent(death)
    # The harness may have died between starting this process and the prctl above (the import of
    # Python takes a while on a busy core): the kernel then has no one to watch, and the command
    # would run orphaned for its whole duration. Seen as an orphan Locust after a SIGKILL.
    parent = int(options.get("--parent") or os.getppid())
    if os.getppid() != parent:
        os.kill(os.getpid(), death)
        sys.exit(f"launch: the harness (pid {parent}) is gone; not starting {command[0]}")
    if told:
        os.execvp(command[0], command)
    end_like(watch(command, parent, death))


if __name__ == "__main__":
    main(sys.argv[1:])
