"""The load generator's CPU cell: the worst worker's share, then each worker's (distributed)."""

from __future__ import annotations

from types import SimpleNamespace

from harness.report.terminal import _loadgen_cell


def test_one_process_shows_its_share_alone() -> None:
    assert _loadgen_cell(SimpleNamespace(loadgen_cpu_share=0.31, loadgen_cpu_workers="")) == "31%"
    assert _loadgen_cell(SimpleNamespace(loadgen_cpu_share=0.31)) == "31%", "older tables"


def test_workers_show_the_worst_then_each() -> None:
    row = SimpleNamespace(loadgen_cpu_share=0.34, loadgen_cpu_workers="34% / 30%")
    assert _loadgen_cell(row) == "34% (34% / 30%)"
