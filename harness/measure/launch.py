"""Exec a command pinned to given CPUs, dying with its parent.

``python -m harness.measure.launch --cpus 0 [--signal TERM] -- uvicorn …``: sets the CPU
affinity of the new process *before* it starts any thread (so every thread it makes inherits
it) and asks Linux to send it a signal (SIGTERM unless ``--signal`` names another) if the harness
dies without cleaning up (``PR_SET_PDEATHSIG``), then ``exec``s.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("usage: python -m harness.measure.launch [--cpus 0,1] [--signal TERM] -- CMD…")
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
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
