"""The open model in the analysis: latency from the intended send (coordinated omission
corrected) beside the service time, offered vs achieved rate, and overload said as such — on
synthetic samples written the way the recorder writes them, beside the closed-model fixture."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest

from harness.analysis import arrivals
from harness.analysis.analyze import analyze
from harness.report import exports, markdown, summary_json
from locustfiles.protocol import SAMPLE_COLUMNS
from locustfiles.schedule import corrected
from tests.harness.runs import edited_copy

W0 = 1_700_000_100.0  # the open-model window: [W0, W0 + 2 s], after a 1 s warm-up
RATE = 100.0
SERVICE_MS = 10.0


def lag_steady(intended: float) -> float:
    return 0.0


def lag_growing(intended: float) -> float:
    """The sends fall behind the schedule by half a second per second of the window."""
    return max(intended - W0, 0.0) * 0.5


def write_samples(path: Path, lag: Any) -> None:
    """Rows as the recorder writes them in the open model: start = the intended send,
    elapsed = latency from it, sent = the actual send, service_ms from there."""
    rows = []
    for i in range(int(3.2 * RATE)):
        intended = W0 - 1.0 + i / RATE
        sent = intended + lag(intended)
        latency = corrected(intended, sent, SERVICE_MS)
        rows.append((intended, latency, 200, 29, "", "x", -1, sent, SERVICE_MS, ""))
    pd.DataFrame(rows, columns=list(SAMPLE_COLUMNS)).to_csv(path, index=False)


def measurement(endpoint: str, slug: str) -> dict[str, Any]:
    ident = f"sleep--{slug}--rate100--r0"
    return {
        "id": ident,
        "scenario": "sleep",
        "endpoint": endpoint,
        "variant": "async" if endpoint.startswith("async") else "sync",
        "path": "/x",
        "users": 2000,
        "rate": RATE,
        "late": 3,
        "dropped": 0,
        "repeat": 0,
        "warmup_s": 1.0,
        "duration_s": 2.0,
        "samples": f"samples/{ident}.csv",
        "metrics": "",
        "window_start": W0,
        "window_end": W0 + 2.0,
        "loadgen_cpu_share": 0.1,
        "loadgen_cpu_warning": False,
    }


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def edit(doc: dict[str, Any]) -> None:
        doc["measurements"] += [
            measurement("async sleep", "async-sleep"),
            measurement("sync sleep", "sync-sleep"),
        ]

    folder = edited_copy(tmp_path_factory.mktemp("open"), edit)
    write_samples(folder / "samples" / "sleep--async-sleep--rate100--r0.csv", lag_steady)
    write_samples(folder / "samples" / "sleep--sync-sleep--rate100--r0.csv", lag_growing)
    return folder


def rows(run_dir: Path) -> tuple[pd.DataFrame, Any, Any]:
    table = analyze(run_dir).table
    opened = arrivals.open_rows(table).set_index("endpoint")
    return table, opened.loc["async sleep"], opened.loc["sync sleep"]


def test_the_two_models_coexist_in_the_table(run_dir: Path) -> None:
    table, _, _ = rows(run_dir)
    closed = table[table["rate"] == 0]
    assert len(closed) == 4 and len(table) == 6  # the fixture's rows are all still there
    assert closed["service_p50_ms"].isna().all() and not closed["overloaded"].any()
    assert set(table[table["rate"] > 0]["users"]) == {2000}


def test_latency_from_the_intended_send_is_never_below_the_service_time(run_dir: Path) -> None:
    _, steady, stalled = rows(run_dir)
    for row in (steady, stalled):
        assert row["p50_ms"] >= row["service_p50_ms"] and row["p99_ms"] >= row["service_p99_ms"]
    # sent on time: both are the service time, and the row is steady at the offered rate
    assert steady["p50_ms"] == pytest.approx(SERVICE_MS)
    assert steady["rps"] == pytest.approx(RATE, rel=0.02)
    assert not steady["overloaded"] and arrivals.state(steady) == "steady"


def test_a_queue_that_grows_is_overload_not_a_percentile(run_dir: Path) -> None:
    _, _, stalled = rows(run_dir)
    # the service time stays flat while the latency from the intended send climbs
    assert stalled["service_p99_ms"] == pytest.approx(SERVICE_MS)
    assert stalled["p50_ms"] > 10 * SERVICE_MS
    assert stalled["latency_growth_ms"] > 300
    assert stalled["overloaded"]
    assert stalled["queue_growth"] == pytest.approx(RATE - stalled["rps"])
    assert 25 < stalled["queue_growth"] < 45  # sends lag by 0.5 s per s: a third less served
    assert arrivals.state(stalled).startswith("overloaded: the queue grew by ")
    assert "(growing)" in arrivals.percentile_cell(stalled, stalled["p99_ms"])


def test_the_knee_is_the_model_at_the_in_flight_cap(run_dir: Path) -> None:
    _, steady, stalled = rows(run_dir)
    # the knee: the model's maximum at the cap; what it should serve: min(offered, knee)
    assert np.isfinite(stalled["knee_rps"]) and stalled["knee_rps"] > 0
    assert stalled["predicted_rps"] == pytest.approx(min(RATE, stalled["knee_rps"]))


def test_the_summary_and_the_markdown_show_offered_achieved_and_service(run_dir: Path) -> None:
    analysis = analyze(run_dir)
    doc = json.loads(summary_json.dumps(summary_json.summary(analysis)))
    jsonschema.Draft202012Validator(summary_json.schema()).validate(doc)
    found = {(m["endpoint"], m["rate"] is None): m for m in doc["measurements"]}
    closed, opened = found[("sync sleep", True)], found[("sync sleep", False)]
    assert closed["late"] == 0 and closed["service_ms"] is None
    assert opened["rate"]["offered"] == RATE and opened["rate"]["overloaded"] is True
    assert opened["rate"]["achieved"] == pytest.approx(opened["rps"]["value"])
    assert opened["service_ms"]["p50"] == pytest.approx(SERVICE_MS) and opened["late"] == 3
    text = markdown.markdown(analysis)
    assert "**Open model**" in text and "overloaded: the queue grew by" in text
    assert any("overloaded" in w for w in analysis.warnings)
    assert not any(c["users"] == 2000 for c in analysis.comparisons)  # never compared


def test_a_run_with_no_measurement_has_no_knee_to_tell() -> None:
    """A run killed before its first measurement ended: its page still renders."""
    assert arrivals.knee_sentences(pd.DataFrame(), "sleep") == []


def test_the_csv_export_has_the_offered_rate_and_the_service_time(run_dir: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(exports.csv_text(analyze(run_dir)))))
    opened = next(r for r in rows if r["endpoint"] == "sync sleep" and r["offered_rate"])
    assert float(opened["offered_rate"]) == RATE and opened["overloaded"] == "True"
    assert float(opened["service_p50_ms"]) == pytest.approx(SERVICE_MS) and opened["late"] == "3"


def test_a_check_at_an_offered_rate_judges_that_rate_only(run_dir: Path) -> None:
    from harness.analysis import gate
    from harness.analysis.checks import parse

    analysis = analyze(run_dir)
    (steady,) = gate.judge(analysis, [parse("async sleep @ 100 req/s: p99 <= 1s")])
    assert steady.passed and steady.rate == 100.0 and steady.users is None
    assert steady.where == "sleep / async sleep @ 100 req/s"
    (growing,) = gate.judge(analysis, [parse("sync sleep @ 100 req/s: p99 <= 100ms")])
    assert not growing.passed  # its queue grows: the p99 is far above the service time
    # a users level never picks the open model's rows (whose users are the in-flight cap)
    at_users = gate.judge(analysis, [parse("async sleep @ 2000: p99 <= 1s")])
    assert [v.why for v in at_users] == ["not measured in this run"]
    # without a level: every row, each named by its own level
    places = {v.where for v in gate.judge(analysis, [parse("async sleep: errors == 0")])}
    assert (
        "sleep / async sleep @ 100 req/s" in places and "sleep / async sleep @ 10 users" in places
    )
