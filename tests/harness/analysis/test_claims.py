"""Claims that weigh every measurement bearing on them: the async DB driver on waits *and*
queries (with the tail), httpx.AsyncClient with the fixes that close its gap and their versions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.analysis.claims import Facts, async_db_throughput, httpx_is_right
from harness.results import Measurement, Run
from tests.harness.runs import measurement

VERSIONS = {
    "httpx": "0.28.1",
    "httpcore": "1.0.9",
    "httpx2": "2.16.2",
    "httpcore2": "2.16.2",
    "httpx-aiohttp": "0.2.0",
}


def _measurement(scenario: str, endpoint: str, path: str, users: int) -> Measurement:
    return measurement(scenario, endpoint, path=path, users=users, duration_s=10.0, window_end=10.0)


def facts(rows: list[tuple[str, str, float, float]], users: int = 200) -> Facts:
    """``rows``: (endpoint label, path, RPS, p99 ms); each RPS becomes 10 steady 1 s bins."""
    scenario = "s"
    run = Run(
        run_id="r",
        status="complete",
        created="2026-11-30T00:00:00Z",
        command=["bench"],
        metadata={},
        scenarios=[{"name": scenario, "app": {"extra": {"http": {"versions": VERSIONS}}}}],
        measurements=tuple(_measurement(scenario, e, p, users) for e, p, _, _ in rows),
    )
    table = pd.DataFrame(
        [
            {
                "scenario": scenario,
                "endpoint": e,
                "users": users,
                "rps": rps,
                "p50_ms": p99 / 2,
                "p99_ms": p99,
                "error_rate": 0.0,
                "binding": "DB pool: 100 connections",
            }
            for e, _, rps, p99 in rows
        ]
    )
    rng = np.random.default_rng(1)
    bins = {(scenario, e, users): rps * (1 + rng.normal(0, 0.05, 10)) for e, _, rps, _ in rows}
    return Facts(run, table, bins)


DB_WAITS = [
    ("async db sleep", "/async/db/sleep?ms=50", 1354.0, 410.0),
    ("sync db sleep", "/sync/db/sleep?ms=50", 674.0, 441.0),
]


def test_an_async_driver_is_true_when_waits_and_queries_agree_and_no_tail_worsens() -> None:
    queries = [
        ("async db query", "/async/db/query?category=3", 900.0, 300.0),
        ("sync db query", "/sync/db/query?category=3", 700.0, 280.0),
    ]
    verdict = async_db_throughput(facts(DB_WAITS + queries))
    assert verdict.verdict == "true"
    assert verdict.evidence.startswith("waits: async db sleep is 2.0")
    assert "× faster than sync db sleep" in verdict.evidence
    assert "queries: async db query is 1.2" in verdict.evidence


def test_true_for_waits_not_for_queries_is_partly_with_both_figures_and_the_tail() -> None:
    """The issue's run: db sleep 1.47× faster, the indexed query no different (694.6 vs 717.0)
    and its p99 2,458 ms async against 440 ms sync."""
    queries = [
        ("async db query", "/async/db/query?category=3", 694.6, 2458.0),
        ("sync db query", "/sync/db/query?category=3", 717.0, 440.0),
    ]
    verdict = async_db_throughput(facts(DB_WAITS + queries))
    assert verdict.verdict == "partly"
    waits, queries_part = verdict.evidence.split("; ")[:2]
    assert waits.startswith("waits: async db sleep is 2.0") and "× faster than sync" in waits
    assert queries_part.startswith("queries: async db query vs sync db query: no significant")
    assert "but its p99 is 5.6× worse (2,458 vs 440 ms" in queries_part


def test_a_faster_driver_with_a_much_worse_tail_is_only_partly_right() -> None:
    queries = [
        ("async db query", "/async/db/query?category=3", 900.0, 2000.0),
        ("sync db query", "/sync/db/query?category=3", 700.0, 400.0),
    ]
    assert async_db_throughput(facts(DB_WAITS + queries)).verdict == "partly"


def test_waits_alone_still_judge_the_claim_and_say_queries_were_not_measured() -> None:
    verdict = async_db_throughput(facts(DB_WAITS))
    assert verdict.verdict == "true" and "queries: not measured" in verdict.evidence


def test_neither_measured_is_not_measured() -> None:
    assert async_db_throughput(facts([])).verdict == "not measured"


HTTP = [
    ("async httpx", "/async/http/httpx?latency_ms=100", 91.3, 1968.0),
    ("async aiohttp", "/async/http/aiohttp?latency_ms=100", 480.6, 124.7),
]


def test_httpx_names_the_fix_that_closes_the_gap_with_its_versions() -> None:
    fixes = [
        ("async httpx2", "/async/http/httpx2?latency_ms=100", 470.0, 130.0),
        ("async httpx-aiohttp", "/async/http/httpx-aiohttp?latency_ms=100", 300.0, 200.0),
    ]
    verdict = httpx_is_right(facts(HTTP + fixes, users=50))
    assert verdict.verdict == "false"
    text = verdict.evidence
    assert "httpx.AsyncClient (httpx 0.28.1 + httpcore 1.0.9) served 91 RPS = 19%" in text
    assert (
        "httpx2 (httpx2 2.16.2 + httpcore2 2.16.2): 470 RPS = 98% of aiohttp's, 5.1× httpx's"
        in text
    )
    assert "5.1× httpx's — closes the gap; httpx-aiohttp" in text
    assert "httpx-aiohttp (httpx-aiohttp 0.2.0): 300 RPS = 62% of aiohttp's" in text
    assert text.endswith("does not close it")


def test_without_the_fixes_the_claim_is_judged_as_before() -> None:
    verdict = httpx_is_right(facts(HTTP, users=50))
    assert verdict.verdict == "false" and "the fixes" not in verdict.evidence


def test_a_blocking_websocket_handler_serializes_every_connection() -> None:
    from harness.analysis.claims import websocket_sleep_blocks

    rows = [
        ("pitfall echo", "/ws/pitfall/echo?ms=10", 97.0, 200.0),
        ("async echo", "/ws/echo?ms=10", 9_500.0, 12.0),
    ]
    verdict = websocket_sleep_blocks(facts(rows, users=100))
    assert verdict.verdict == "true"
    assert verdict.evidence.startswith("97.0 messages/s over 100 connections ≈ one message")
    assert "the same wait awaited: 9,500 messages/s at 100" in verdict.evidence
    assert websocket_sleep_blocks(facts([], users=100)).verdict == "not measured"
