"""Exec a command pinned to given CPUs, dying with its parent.

``python -m harness.measure.launch --cpus 0 [--signal TERM] [--parent PID] -- uvicorn …``: sets
the CPU affinity of the new process *before* it starts any thread (so every thread it makes inherits
it) and asks Linux to send it a signal (SIGTERM unless ``--signal`` names another) if the harness
dies without cleaning up (``PR_SET_PDEATHSIG``), then ``exec``s — unless its parent is no longer
``--parent`` (the harness died before the request could be made: nothing would signal it then).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit(
            "usage: python -m harness.measure.launch [--cpus 0,1] [--signal TERM] [--parent PID]"
            " -- CMD…"
        )
    split = argv.index("--")
    options = dict(zip(argv[:split:2], argv[1:split:2], strict=False))
    command = argv[split + 1 :]
    if options.get("--cpus"):
        os.sched_setaffinity(0, {int(c) for c in options["--cpus"].split(",")})
    death = signal.Signals[f"SIG{options.get('--signal', 'TERM')}"]
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, death)
        except OSError:
            pass
    # The harness may have died between starting this process and the prctl above (the import of
    # Python takes a while on a busy core): the kernel then has no one to watch, and the command
    # would run orphaned for its whole duration. Seen as an orphan Locust after a SIGKILL.
    parent = options.get("--parent")
    if parent and os.getppid() != int(parent):
        os.kill(os.getpid(), death)
        sys.exit(f"launch: the harness (pid {parent}) is gone; not starting {command[0]}")
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
