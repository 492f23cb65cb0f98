"""Record, every 0.5 s while a measurement runs, the pinned cores' times and our processes'.

A thread beside ``MetricsPoller``: each reading is ``/proc/stat``'s per-CPU times and the CPU
time of every process of ours (the children the runner started — app, Locust, upstream,
database — their own children, and this harness process). The analysis subtracts ours from
the pinned cores' busy time over the window: what is left was used by a process that is not
ours (``harness/analysis/disturbance.py``). Without ``/proc/stat`` (not Linux) nothing is kept.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import psutil

from harness import affinity, cpu_times
from harness.cpu_times import CpuTimes

PROC_STAT = Path("/proc/stat")


Known = dict[int, tuple[tuple[int, ...], float]]  # pid → (its CPUs, its last CPU seconds)


def ours_cpu_s(pids: Sequence[int], known: Known) -> dict[tuple[int, ...], float]:
    """CPU seconds (user + system) of ``pids``, their descendants and this process, summed by
    the CPUs each may run on. ``known`` keeps every process seen: one that has exited since
    still counts with its last reading."""
    for pid in (*pids, os.getpid()):
        try:
            root = psutil.Process(pid)
            family = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for process in family:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    cpus = _cpus_of(process)
            except psutil.Error:
                continue
            known[process.pid] = (cpus, times.user + times.system)
    total: dict[tuple[int, ...], float] = {}
    for cpus, seconds in known.values():
        total[cpus] = total.get(cpus, 0.0) + seconds
    return total


def _cpus_of(process: psutil.Process) -> tuple[int, ...]:
    """The CPUs ``process`` may run on; every CPU where psutil cannot say (no
    ``cpu_affinity`` on macOS)."""
    if not hasattr(process, "cpu_affinity"):
        return affinity.usable_cpus()
    return tuple(sorted(process.cpu_affinity() or ()))


def read(pids: Sequence[int], ticks_per_s: float, known: Known) -> CpuTimes:
    busy, steal = cpu_times.parse_proc_stat(PROC_STAT.read_text(), ticks_per_s)
    return CpuTimes(t=time.time(), busy_s=busy, steal_s=steal, ours_s=ours_cpu_s(pids, known))


class CpuSampler:
    """``with CpuSampler(children.pids, pinning) as sampler: …`` then ``sampler.save(path)``."""

    def __init__(
        self,
        pids: Callable[[], Sequence[int]],
        pinned: Mapping[str, Sequence[int]],
        interval_s: float = 0.5,
    ) -> None:
        self.pids, self.pinned, self.interval_s = pids, dict(pinned), interval_s
        self.readings: list[CpuTimes] = []
        self._known: Known = {}
        self._lock = threading.Lock()
        self.available = PROC_STAT.is_file()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cpu-sampler", daemon=True)
        self._ticks = cpu_times.clock_ticks() if self.available else 100.0

    def __enter__(self) -> CpuSampler:
        if self.available:
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def sample(self) -> None:
        """One reading now (the thread takes one every ``interval_s``)."""
        if not self.available:
            return
        with self._lock:
            try:
                self.readings.append(read(self.pids(), self._ticks, self._known))
            except (OSError, ValueError, KeyError):
                pass

    def _loop(self) -> None:
        while not self._stop.is_set():
            asked = time.time()
            self.sample()
            self._stop.wait(max(0.0, self.interval_s - (time.time() - asked)))

    def save(self, path: Path) -> bool:
        """Write the readings; False (nothing written) when there are fewer than two."""
        if len(self.readings) < 2:
            return False
        cpu_times.save(path, self.pinned, self.readings)
        return True
