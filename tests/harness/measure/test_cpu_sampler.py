"""The CPU sampler: our processes' CPU times by the CPUs they may use, an exited one kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import cpu_times
from harness.measure.cpu_sampler import CpuSampler, ours_cpu_s

# 0.3 s of CPU, then asleep until killed
SPIN = (
    "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\ntime.sleep(5)"
)
pytestmark = pytest.mark.skipif(not Path("/proc/stat").is_file(), reason="needs /proc/stat")


def test_a_child_that_exits_still_counts_with_its_last_reading() -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SPIN,
        ]
    )
    try:
        known: dict[int, tuple[tuple[int, ...], float]] = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and known.get(child.pid, ((), 0.0))[1] < 0.25:
            ours_cpu_s([child.pid], known)
            time.sleep(0.1)
        before = sum(ours_cpu_s([child.pid], known).values())
    finally:
        child.kill()
        child.wait()
    after = sum(ours_cpu_s([child.pid], known).values())
    assert known[child.pid][1] >= 0.25 and after >= before - 1e-9
    mine = tuple(sorted(os.sched_getaffinity(0)))
    assert mine in ours_cpu_s([], {})  # this process, by the CPUs it may use


def test_the_sampler_records_and_saves_the_pinned_cores(tmp_path: Path) -> None:
    with CpuSampler(lambda: [], {"app": [0]}, interval_s=0.05) as sampler:
        time.sleep(0.3)
    assert len(sampler.readings) >= 2
    assert sampler.save(tmp_path / "cpu.json")
    loaded = cpu_times.load(tmp_path / "cpu.json")
    assert loaded is not None and loaded.pinned == {"app": (0,)}
    assert 0 in loaded.readings[0].busy_s
    assert not CpuSampler(lambda: [], {}).save(tmp_path / "none.json")
