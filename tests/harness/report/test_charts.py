"""Charts: every PNG of the run, the same whether drawn in a pool or in this process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.analysis.analyze import analyze
from harness.report import charts, drawing
from tests.harness.runs import FIXTURE

PNG = b"\x89PNG\r\n\x1a\n"


def _copy(tmp_path: Path, name: str) -> Path:
    run_dir = tmp_path / name
    shutil.copytree(FIXTURE, run_dir)  # never write into tests/fixtures
    return run_dir


def _boom(out: Path) -> Path:
    raise RuntimeError(f"cannot draw {out.name}")


def test_every_chart_is_drawn_and_the_pool_changes_nothing(tmp_path: Path) -> None:
    pooled = drawing.draw_all(analyze(_copy(tmp_path, "pooled")), processes=2)
    inline = drawing.draw_all(analyze(_copy(tmp_path, "inline")), processes=1)
    assert (
        pooled
        == inline
        == {
            # one users level each: no sweep chart
            "sleep": [
                "rps-sleep.png",
                "latency-sleep.png",
                "timeline-sleep.png",
                "signals-sleep.png",
            ],
            "pitfalls": [
                "rps-pitfalls.png",
                "latency-pitfalls.png",
                "timeline-pitfalls.png",
                "signals-pitfalls.png",
            ],
        }
    )
    for names in pooled.values():
        for name in names:
            drawn = (tmp_path / "pooled" / name).read_bytes()
            assert drawn.startswith(PNG)
            assert drawn == (tmp_path / "inline" / name).read_bytes(), name


def test_workers_read_no_file_their_data_comes_with_the_job(tmp_path: Path) -> None:
    jobs = drawing.jobs_for(analyze(_copy(tmp_path, "run")))
    timeline = next(j for j in jobs if j.draw is charts.timeline)
    data = timeline.args[0]
    assert isinstance(data, charts.Timeline) and data.lines and data.warmup_s > 0
    assert all(len(line.x) == len(line.y) > 0 for line in data.lines)


@pytest.mark.parametrize("processes", [1, 2])
def test_a_chart_that_fails_raises_in_the_parent(tmp_path: Path, processes: int) -> None:
    with pytest.raises(RuntimeError, match="cannot draw boom.png"), drawing.Drawer(processes) as d:
        d.submit([drawing.Job("x", _boom, (tmp_path / "boom.png",))])
        d.files()
