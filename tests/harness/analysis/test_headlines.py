"""The one-line-per-scenario headline: who leads at the highest users level, against whom."""

from __future__ import annotations

import math

import pandas as pd

from harness.analysis.headlines import headlines_for


def _row(scenario: str, endpoint: str, users: int, rps: float, p99: float) -> dict[str, object]:
    return {"scenario": scenario, "endpoint": endpoint, "users": users, "rps": rps, "p99_ms": p99}


def test_the_leader_is_set_against_the_slowest_by_name_at_the_highest_users_level() -> None:
    table = pd.DataFrame(
        [
            _row("sleep", "sync sleep", 10, 95.0, 110.0),
            _row("sleep", "sync sleep", 100, 390.0, 300.0),
            _row("sleep", "async sleep", 100, 975.0, 151.0),
            _row("solo", "only one", 10, 50.0, math.nan),
        ]
    )
    assert headlines_for(table) == [
        "sleep at 100 users: async sleep 975 RPS (p99 151 ms), sync sleep 390 RPS (p99 300 ms)"
        " — async sleep serves 2.50× the throughput of sync sleep",
        "solo at 10 users: only one 50 RPS (p99 – ms)",
    ]
