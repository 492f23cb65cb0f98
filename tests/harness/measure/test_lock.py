"""One run per machine: a second is refused naming the first, or flagged when allowed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness import results
from harness.analysis.run_warnings import concurrency
from harness.errors import BenchError
from harness.measure.lock import machine_lock
from tests.harness.runs import FIXTURE


@pytest.fixture(autouse=True)
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_LOCK_DIR", str(tmp_path))


def test_a_second_run_is_refused_with_the_first_ones_pid_and_folder(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    with machine_lock(allow_concurrent=False) as holding:
        holding.mark(first)
        with pytest.raises(BenchError) as refused, machine_lock(allow_concurrent=False):
            pass
    message = str(refused.value)
    assert f"PID {os.getpid()}" in message and str(first.resolve()) in message
    assert "--allow-concurrent" in message
    with machine_lock(allow_concurrent=False):  # released: the next run may start
        pass


def test_allowed_runs_flag_each_other(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    with machine_lock(allow_concurrent=False) as holding:
        holding.mark(first)
        with machine_lock(allow_concurrent=True) as beside:
            beside.mark(second)
            assert beside.other == {"pid": os.getpid(), "run_dir": str(first.resolve())}
    told = json.loads((first / results.CONCURRENT_FILE).read_text())
    assert told == [{"pid": os.getpid(), "run_dir": str(second.resolve())}]
    run = results.load(FIXTURE)
    warnings = concurrency(first, run)
    assert len(warnings) == 1 and str(second.resolve()) in warnings[0]
    assert concurrency(FIXTURE, run) == []


def test_an_unusable_lock_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_LOCK_DIR", str(tmp_path / "missing"))
    with pytest.raises(BenchError, match="cannot open the machine lock .* BENCH_LOCK_DIR"):
        with machine_lock(allow_concurrent=False):
            pass
