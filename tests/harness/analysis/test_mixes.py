"""A mix measurement, per endpoint: part rows that add up, each beside itself alone, and the
shared limit named by Little's law on what was measured (a synthetic run with known samples)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from harness.analysis.analyze import analyze
from harness.analysis.samples import digest
from harness.report.markdown import markdown
from harness.results import load
from tests.harness.runs import FIXTURE

T0 = 1_700_000_000.0
WINDOW = 10.0


def _measurement(mid: str, endpoint: str, variant: str, path: str) -> dict:  # type: ignore[type-arg]
    return {
        "id": mid,
        "scenario": "starve",
        "endpoint": endpoint,
        "variant": variant,
        "path": path,
        "users": 10,
        "repeat": 0,
        "warmup_s": 0.0,
        "duration_s": WINDOW,
        "samples": f"samples/{mid}.csv",
        "metrics": "",
        "window_start": T0,
        "window_end": T0 + WINDOW,
        "loadgen_cpu_share": 0.1,
        "loadgen_cpu_warning": False,
    }


def _samples(path: Path, rows: list[tuple[float, float, str]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["start", "elapsed_ms", "status", "bytes", "error", "name"])
        for start, elapsed_ms, name in rows:
            writer.writerow([T0 + start, elapsed_ms, 200, 10, "", name])


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_mix_run(tmp_path)


def write_mix_run(tmp_path: Path) -> Path:
    """fast alone: 1,000 requests of 10 ms; the mix: 20 slow calls of 2 s and 180 fast ones of
    100 ms. With 4 tokens, 20 slow calls in 10 s hold 2 RPS × 2 s = 4 tokens: the pool is full.
    (Also the mix run of tests/harness/report/test_summary_json.py.)"""
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    endpoints = [
        {"label": "fast", "variant": "sync", "path": "/fast", "concurrency": "threadpool",
         "service_ms": "0", "calls": "1", "limits": []},
        {"label": "slow", "variant": "sync", "path": "/slow", "concurrency": "threadpool",
         "service_ms": "2000", "calls": "1", "limits": [], "solo": False},
    ]  # fmt: skip
    doc = json.loads((FIXTURE / "results.json").read_text())
    doc.update(
        schema=2,
        scenarios=[
            {
                "name": "starve",
                "description": "a mix",
                "parameters": {"ms": 2000},
                "app": {"threadpool_tokens": 4, "settings": {}},
                "endpoints": endpoints,
                "mixes": [{"label": "busy", "parts": [["slow", 1], ["fast", 9]], "note": ""}],
            }
        ],
        measurements=[
            _measurement("solo", "fast", "sync", "/fast"),
            _measurement("mix", "busy", "mix", "10% GET /slow + 90% GET /fast"),
        ],
    )
    (run / "results.json").write_text(json.dumps(doc))
    _samples(run / "samples" / "solo.csv", [(i * 0.0099, 10.0, "fast") for i in range(1000)])
    mixed = [(i * 0.39, 2000.0, "slow") for i in range(20)]
    mixed += [(i * 0.054, 100.0, "fast") for i in range(180)]
    _samples(run / "samples" / "mix.csv", mixed)
    return run


def test_a_mix_has_one_row_per_endpoint_and_they_add_up(run_dir: Path) -> None:
    found = analyze(run_dir)
    rows = found.summary.set_index("endpoint")
    assert list(rows.index) == ["fast", "busy", "slow (in busy)", "fast (in busy)"]
    assert (
        rows.loc["slow (in busy)", "requests"] + rows.loc["fast (in busy)", "requests"]
        == (rows.loc["busy", "requests"])
    )
    assert rows.loc["fast (in busy)", "variant"] == "sync"
    assert rows.loc["fast (in busy)", "p50_ms"] == pytest.approx(100.0)
    assert rows.loc["fast (in busy)", "mix"] == "busy" and rows.loc["fast", "mix"] == ""
    table = found.table.set_index("endpoint")
    assert table.loc["fast (in busy)", "binding"] == "mixed traffic"  # no solo model applies
    assert ("starve", "fast (in busy)", 10) in found.bins  # its own bins: a CI of its own


def test_the_slowed_endpoint_and_the_full_pool_are_named(run_dir: Path) -> None:
    (mixed,) = analyze(run_dir).mixes
    fast = next(p for p in mixed.parts if p.endpoint == "fast")
    assert fast.p50_ratio == pytest.approx(10.0)
    assert fast.asked_share == pytest.approx(0.9) and fast.measured_share == pytest.approx(0.9)
    assert "fast's p50 rose 10.0× (p50 10.0 → 100.0 ms" in mixed.sentence
    assert "the thread pool was full" in mixed.sentence
    assert "held 4.0 of 4 tokens" in mixed.sentence


def test_the_summary_shows_the_mix(run_dir: Path) -> None:
    text = markdown(analyze(run_dir))
    assert "**Mixed traffic**" in text
    assert "| fast | 90% / 90% | 18.0 | 100.0 | 100.0 | 10.0 / 10.0 | 10× |" in text


def test_an_old_samples_file_without_names_still_digests(run_dir: Path) -> None:
    run = load(FIXTURE)
    stats = digest(FIXTURE, run.measurements[0]).stats
    assert stats.requests > 0 and stats.bad_rows == 0
