"""What an idle WebSocket connection costs: the memory difference over the connections held."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.analysis import idle
from harness.results import Measurement, Run
from tests.harness.runs import measurement


def _m(endpoint: str, slug: str) -> Measurement:
    samples = f"samples/w--{slug}--u10--r0.csv"
    return measurement("w", endpoint, id=f"w--{slug}--u10--r0", path="/ws/echo", samples=samples)


def _run(tmp_path: Path, held: int | None) -> tuple[Run, pd.DataFrame]:
    (tmp_path / "samples").mkdir()
    meta = {} if held is None else {"idle_connections": held}
    (tmp_path / "samples" / "w--many--u10--r0.meta.json").write_text(json.dumps(meta))
    endpoints = [{"label": "alone", "idle": 0}, {"label": "beside 1000", "idle": 1000}]
    run = Run(
        run_id="r",
        status="complete",
        created="2026-11-30T00:00:00Z",
        command=["bench"],
        metadata={},
        scenarios=[{"name": "w", "endpoints": endpoints}],
        measurements=(_m("alone", "none"), _m("beside 1000", "many")),
    )
    table = pd.DataFrame(
        [
            {
                "scenario": "w",
                "endpoint": "alone",
                "users": 10,
                "app_rss_mb": 100.0,
                "p50_ms": 0.3,
                "p99_ms": 0.9,
            },
            {
                "scenario": "w",
                "endpoint": "beside 1000",
                "users": 10,
                "app_rss_mb": 133.0,
                "p50_ms": 0.4,
                "p99_ms": 1.5,
            },
        ]
    )
    return run, table


def test_the_cost_is_the_memory_difference_over_the_connections_held(tmp_path: Path) -> None:
    run, table = _run(tmp_path, held=800)  # 200 of the 1,000 could not connect
    (sentence,) = idle.sentences(tmp_path, run, table)
    assert sentence == (
        "w / beside 1000 @ 10 users: 800 idle connections open (of 1,000 asked) cost the app "
        "33.0 MB more than none (alone): about 42.2 KiB each; the active clients' p50 0.3 → "
        "0.4 ms, p99 0.9 → 1.5 ms"
    )


def test_without_the_generators_count_the_asked_number_is_used(tmp_path: Path) -> None:
    run, table = _run(tmp_path, held=None)
    (sentence,) = idle.sentences(tmp_path, run, table)
    assert "1,000 idle connections open cost the app 33.0 MB" in sentence
    assert "about 33.8 KiB each" in sentence


def test_no_reference_without_idle_connections_means_no_sentence(tmp_path: Path) -> None:
    run, table = _run(tmp_path, held=1000)
    assert idle.sentences(tmp_path, run, table[table["endpoint"] != "alone"]) == []
    assert idle.sentences(tmp_path, run, table.iloc[0:0]) == []
