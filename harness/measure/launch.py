"""Exec a command pinned to given CPUs, dying with its parent.

``python -m harness.measure.launch --cpus 0 -- uvicorn …``: sets the CPU affinity of the new process
*before* it starts any thread (so every thread it makes inherits it) and asks Linux to send it
SIGTERM if the harness dies without cleaning up (``PR_SET_PDEATHSIG``), then ``exec``s.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("usage: python -m harness.measure.launch [--cpus 0,1] -- COMMAND…")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    if len(options) >= 2 and options[0] == "--cpus" and options[1]:
        os.sched_setaffinity(0, {int(c) for c in options[1].split(",")})
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:
            pass
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
