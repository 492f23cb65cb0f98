"""Run metadata on an OS without affinity or per-CPU times (macOS, simulated by taking the
calls away): collected all the same, and saying what could not be known."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

from harness.measure import cpu_sampler, metadata
from harness.measure.cpu_sampler import CpuSampler, ours_cpu_s
from harness.measure.pinning import Pinning


def test_metadata_without_affinity_records_every_cpu_and_not_pinned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    meta = metadata.collect(Pinning.plan().to_dict())
    assert meta["cpu_affinity"] == [0, 1, 2]
    assert meta["pinning"]["pinned"] is False
    assert meta["pinning"]["note"].startswith("not pinned: load generator and app share cores")


def test_metadata_says_when_there_are_no_per_cpu_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metadata, "PROC_STAT", tmp_path / "no-such-stat")
    assert metadata.collect({})["per_cpu_times"] is False


def test_without_proc_stat_the_sampler_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cpu_sampler, "PROC_STAT", tmp_path / "no-such-stat")
    with CpuSampler(lambda: [], {"app": [0]}, interval_s=0.05) as sampler:
        sampler.sample()
    assert sampler.readings == [] and not sampler.save(tmp_path / "cpu.json")
    assert not (tmp_path / "cpu.json").exists()


def test_without_psutil_affinity_our_processes_count_on_every_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(psutil.Process, "cpu_affinity", raising=False)
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert set(ours_cpu_s([], {})) == {(0, 1)}
