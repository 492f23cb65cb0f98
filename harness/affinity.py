"""What this operating system lets the harness do with CPUs and with its children's lifetime.

Linux has ``os.sched_getaffinity``/``os.sched_setaffinity`` (which CPUs a process may run on)
and ``prctl(PR_SET_PDEATHSIG)`` (a signal the kernel sends a child when its parent dies); macOS
and Windows have neither. Every use in the harness asks here first, so a missing call means "run
unpinned" or "watch the parent instead", never an ``AttributeError``.

``BENCH_SIMULATE_NO_AFFINITY=1`` in the environment is a testing aid: on Linux it makes this
module answer as macOS would (no affinity, no parent-death signal), so the tests can run a real
measurement the way it runs there. It is inherited by every child the harness starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterable

SIMULATE_ENV = "BENCH_SIMULATE_NO_AFFINITY"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def simulated() -> bool:
    """Is the missing-affinity world being simulated (the testing aid above)?"""
    return os.environ.get(SIMULATE_ENV, "") not in ("", "0")


def can_pin() -> bool:
    """Can a process here be given the CPUs it may run on (``sched_setaffinity``)?"""
    return not simulated() and hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


def usable_cpus() -> tuple[int, ...]:
    """The CPUs this process may run on; where the OS cannot say, every CPU it has."""
    if can_pin():
        return tuple(sorted(os.sched_getaffinity(0)))
    return tuple(range(os.cpu_count() or 1))


def usable_count() -> int:
    """How many CPUs this process may use (e.g. to size a pool of processes)."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is not None:
        return len(getaffinity(0)) or 1
    return os.cpu_count() or 1


def pin_self(cpus: Iterable[int]) -> bool:
    """Restrict this process to ``cpus``; False (nothing done) where the OS cannot."""
    if not can_pin():
        return False
    os.sched_setaffinity(0, set(cpus))
    return True


def die_with_parent(signum: int) -> bool:
    """Ask the kernel to send ``signum`` to this process when its parent dies; False where it
    cannot (not Linux, prctl missing or refused): the caller must watch the parent itself."""
    if simulated() or not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signum))) == 0
    return False
