"""The report's "why": predictions, findings, claims and stability flags on checked-in runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.analysis.analyze import analyze
from tests.harness.runs import FIXTURE, edited_copy


def test_predictions_follow_the_runs_settings() -> None:
    table = analyze(FIXTURE).table.set_index("endpoint")
    assert table.loc["sync sleep", "predicted_rps"] == pytest.approx(100.0)  # 10 users / 0.1 s
    assert table.loc["sync sleep", "binding"] == "users: 10"
    assert table.loc["pitfall sleep", "predicted_rps"] == pytest.approx(10.0)
    assert table.loc["pitfall sleep", "kind"] == "loop"
    assert table.loc["sync sleep", "ratio"] == pytest.approx(0.95)
    assert not table["finding"].any()
    assert table.loc["sync sleep", "sentence"] == (
        "sync sleep: 95 RPS = 95% of 10 / 0.1 s — the users are the cap (more load would go faster)"
    )


def test_a_measurement_far_from_its_prediction_is_a_finding(tmp_path: Path) -> None:
    def fewer_tokens(doc: dict) -> None:  # type: ignore[type-arg]
        doc["scenarios"][0]["app"]["threadpool_tokens"] = 5

    computed = analyze(edited_copy(tmp_path, fewer_tokens))
    sync = computed.table.set_index("endpoint").loc["sync sleep"]
    assert sync["predicted_rps"] == pytest.approx(50.0)
    assert sync["binding"] == "thread pool: 5 tokens"
    assert sync["finding"]
    assert computed.findings == [
        "sleep / sync sleep @ 10 users: measured 95 RPS = 190% of the predicted 50 (thread pool: "
        "5 tokens) — faster than the model: a limit it assumes does not bind"
    ]


def test_claims_are_judged_from_the_run_or_not_measured() -> None:
    verdicts = {c.claim: c for c in analyze(FIXTURE).claims}
    assert verdicts["`def` endpoints block the server"].verdict == "false"
    sleep = verdicts["`time.sleep` in `async def` blocks every request"]
    assert sleep.verdict == "true" and "10.0 RPS at 10 users" in sleep.evidence
    assert "event-loop lag up to 100 ms" in sleep.evidence
    for claim in (
        "if nothing is awaited, `def` is faster than `async def`",
        "an async DB driver raises throughput",
        "`httpx.AsyncClient` is the right async client",
    ):
        assert verdicts[claim].verdict == "not measured"


def test_in_run_comparisons_have_a_ratio_and_a_verdict() -> None:
    comparisons = analyze(FIXTURE).comparisons
    pitfall = next(c for c in comparisons if c["a"] == "pitfall sleep")
    assert pitfall["b"] == "fixed sleep"
    assert pitfall["ratio"] == pytest.approx(0.1)
    assert pitfall["verdict"].startswith("pitfall sleep is 10.00× slower than fixed sleep")
    sleep = next(c for c in comparisons if c["a"] == "async sleep")
    assert "no significant difference" in sleep["verdict"]


def test_a_busy_cpu_is_named_as_the_cap(tmp_path: Path) -> None:
    """When the server's own CPU signal shows it saturated, the shortfall is the CPU's doing."""

    def heavier(doc: dict) -> None:  # type: ignore[type-arg]
        # a model that expects 10 × more than measured: 10 ms instead of 100 ms per request
        for endpoint in doc["measurements"]:
            if endpoint["endpoint"] == "async sleep":
                endpoint["model"]["service_ms"] = "10"

    run_dir = edited_copy(tmp_path, heavier)
    for path in (run_dir / "metrics").glob("sleep--async-sleep--*.json"):
        doc = json.loads(path.read_text())
        for i, snapshot in enumerate(doc["series"]):
            snapshot["cpu_s"] = i * 0.5 * 0.95  # 95 % of a core between 0.5 s polls
        path.write_text(json.dumps(doc))
    row = analyze(run_dir).table.set_index("endpoint").loc["async sleep"]
    assert row["finding"] and row["kind"] == "cpu"
    assert row["binding"].startswith("app CPU: 95% busy")
    assert "the app's CPU is the cap (95% busy" in row["sentence"]


def test_no_verdict_is_drawn_from_a_measurement_with_errors(tmp_path: Path) -> None:
    """More than 1 % of failed requests: the claim says "not measured cleanly", not a verdict."""
    run_dir = edited_copy(tmp_path, lambda d: None)
    for path in (run_dir / "samples").glob("pitfalls--pitfall-sleep--*.csv"):
        lines = path.read_text().splitlines()
        broken = [lines[0]] + [
            row.rsplit(",", 3)[0] + ",0,0,ConnectionError: refused" if i % 10 == 0 else row
            for i, row in enumerate(lines[1:])
        ]
        path.write_text("\n".join(broken) + "\n")
    verdicts = {c.claim: c for c in analyze(run_dir).claims}
    blocked = verdicts["`time.sleep` in `async def` blocks every request"]
    assert blocked.verdict == "not measured cleanly"
    assert "/pitfall/sleep failed" in blocked.evidence and "more than 1%" in blocked.evidence
    clean = {c.claim: c for c in analyze(FIXTURE).claims}
    assert clean["`time.sleep` in `async def` blocks every request"].verdict == "true"
