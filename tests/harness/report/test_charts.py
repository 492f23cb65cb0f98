"""Charts: every PNG of the run, the same whether drawn in a pool or in this process."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness import results
from harness.analysis import sample_files
from harness.analysis.analyze import analyze
from harness.report import build, charts, drawing
from tests.harness.runs import FIXTURE, edited_copy

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


def _two_users_levels(doc: dict[str, Any]) -> None:
    """The sleep scenario's second repeats become a second users level (20)."""
    for m in doc["measurements"]:
        if m["scenario"] == "sleep" and m["repeat"] == 1:
            m["users"], m["repeat"] = 20, 0


def test_a_sweep_is_drawn_for_two_users_levels_and_the_timeline_is_at_the_top(
    tmp_path: Path,
) -> None:
    run_dir = edited_copy(tmp_path, _two_users_levels)
    found = analyze(run_dir)
    drawn = drawing.draw_all(found, processes=2)
    assert drawn["sleep"] == [
        "rps-sleep.png",
        "sweep-sleep.png",
        "latency-sleep.png",
        "timeline-sleep.png",
        "signals-sleep.png",
    ]
    assert "sweep-pitfalls.png" not in drawn["pitfalls"]
    assert (run_dir / "sweep-sleep.png").read_bytes().startswith(PNG)
    timeline = next(j for j in drawing.jobs_for(found) if j.draw is charts.timeline)
    assert timeline.args[0].users == 20


def _counting(calls: list[str], read: Callable[[str], pd.DataFrame]) -> Callable[..., Any]:
    def counted(path: str) -> pd.DataFrame:
        calls.append(Path(path).name)
        return read(path)

    return counted


def test_a_report_parses_each_samples_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Summary, bins, time series and charts all come from one parse of each file."""
    run_dir = _copy(tmp_path, "run")
    calls: list[str] = []
    monkeypatch.setattr(sample_files, "read", _counting(calls, sample_files.read))
    build.build(run_dir)
    files = [Path(m.samples).name for m in results.load(run_dir).measurements]
    assert sorted(calls) == sorted(files)


def test_one_cpu_draws_inline_without_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started on one CPU")

    monkeypatch.setattr(build.os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(drawing, "ProcessPoolExecutor", no_pool)
    run_dir = _copy(tmp_path, "run")
    build.build(run_dir)
    assert (run_dir / "signals-pitfalls.png").read_bytes().startswith(PNG)
