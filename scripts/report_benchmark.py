"""Time ``bench report RUN_DIR`` and its peak memory, child processes included.

    python scripts/report_benchmark.py RUN_DIR [--repeat 3]

Runs the command ``--repeat`` times untouched and prints each wall time; then once more while
polling the process tree every 20 ms for the sum of its proportional set size (PSS: pages
shared between the report and its chart workers are counted once, split between them), and
prints that peak. The two are separate runs because reading every process's memory map that
often costs the report a second or more of CPU on a 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil


def tree_pss(root: psutil.Process) -> int:
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_full_info().pss
        except psutil.Error:
            continue
    return total


def measure(run_dir: Path, poll: bool) -> tuple[float, int]:
    """Wall time of one report, and (when ``poll``) the tree's peak PSS."""
    bench = shutil.which("bench") or str(Path(sys.executable).with_name("bench"))
    started = time.perf_counter()
    child = subprocess.Popen([bench, "report", str(run_dir)], stdout=subprocess.DEVNULL)
    proc, peak = psutil.Process(child.pid), 0
    while poll and child.poll() is None:
        try:
            peak = max(peak, tree_pss(proc))
        except psutil.Error:
            pass
        time.sleep(0.02)
    child.wait()
    wall = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"bench report failed with exit code {child.returncode}")
    return wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for i in range(args.repeat):
        wall, _ = measure(args.run_dir, poll=False)
        print(f"run {i + 1}: {wall:.2f} s")
    _, peak = measure(args.run_dir, poll=True)
    print(f"peak memory: {peak / 2**20:,.0f} MiB (PSS of the process tree, a separate run)")


if __name__ == "__main__":
    main()
