"""How long the thread pool stayed exhausted: from the tokens-in-use gauge's mean per poll
interval, within one token per worker of the pool's size; and the sentence it earns."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from harness.analysis import headlines
from harness.analysis.tables import pool_full_s
from harness.server_samples import ServerSample


def snap(t: float, mean: float, total: float = 40.0, workers: int = 1) -> ServerSample:
    return ServerSample.from_snapshot(
        {
            "t": t,
            "gauges": {
                "threadpool_borrowed": {"max": mean, "mean": mean, "now": mean},
                "threadpool_total": {"max": total, "mean": total, "now": total},
            },
            "workers": [{"pid": i, "requests_total": 0} for i in range(workers)]
            if workers > 1
            else [],
        }
    )


def test_the_intervals_with_every_token_in_use_add_up_inside_the_window() -> None:
    series = [snap(0.0, 10), snap(0.5, 39.6), snap(1.0, 40), snap(1.5, 20), snap(2.0, 39.2)]
    # full: (0, 0.5], (0.5, 1.0], (1.5, 2.0]; the window [0.25, 2.0] clips the first
    assert pool_full_s(series, 0.25, 2.0) == pytest.approx(0.25 + 0.5 + 0.5)
    assert pool_full_s(series, 0.0, 0.4) == pytest.approx(0.4)


def test_two_workers_allow_a_token_each() -> None:
    series = [snap(0.0, 0, 80, 2), snap(0.5, 78.8, 80, 2), snap(1.0, 77.5, 80, 2)]
    assert pool_full_s(series, 0.0, 1.0) == pytest.approx(0.5)


def test_no_gauge_is_unknown_not_zero() -> None:
    bare = [ServerSample.from_snapshot({"t": t}) for t in (0.0, 0.5, 1.0)]
    assert math.isnan(pool_full_s(bare, 0.0, 1.0))


def test_a_pool_full_for_a_quarter_of_the_window_earns_a_sentence() -> None:
    row = {"scenario": "s", "endpoint": "sync sleep", "users": 200, "sentence": "x"}
    table = pd.DataFrame(
        [
            {**row, "pool_full_s": 9.7, "duration_s": 10.0},
            {**row, "endpoint": "async sleep", "pool_full_s": 2.0, "duration_s": 10.0},
        ]
    )
    found = headlines.sentences(table, "s")
    assert found[1] == (
        "sync sleep: the thread pool had every token in use for 9.7 s of the 10.0 s window "
        "(at 200 users): every `def` route and `run_in_threadpool` call of the app queued "
        "meanwhile"
    )
    assert len(found) == 3  # async sleep: 2 s of 10 is not worth a sentence
