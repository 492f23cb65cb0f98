"""A measurement's blockers from the app watchdog's cumulative totals (known snapshots)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from harness.analysis.blocking import NO_USER_CODE, blocking
from harness.errors import BenchError
from harness.results import Measurement
from harness.server_samples import ServerSample, load_metrics

T0 = 1_700_000_000.0


def _m() -> Measurement:
    return Measurement(
        id="m", scenario="s", endpoint="pitfall", variant="pitfall", path="/p", users=5,
        repeat=0, warmup_s=1.0, duration_s=10.0, samples="", metrics="",
        window_start=T0, window_end=T0 + 10.0, loadgen_cpu_share=0.1, loadgen_cpu_warning=False,
    )  # fmt: skip


def _snap(t: float, sleep_s: float, gc_s: float = 0.0) -> ServerSample:
    routes = [
        {
            "route": "GET /p",
            "seconds": sleep_s + gc_s,
            "samples": 1,
            "frames": [
                {"frame": "app.py:3 p", "line": "time.sleep(1)", "context": "", "seconds": sleep_s},
                {"frame": NO_USER_CODE, "line": "", "context": "gc", "seconds": gc_s},
            ],
        }
    ]
    blocked = {"threshold_ms": 20.0, "total_s": sleep_s + gc_s, "routes": routes}
    nan = math.nan
    return ServerSample(T0 + t, 0.0, 0.0, 0, 0.0, nan, nan, nan, nan, blocked)


def test_the_window_gets_the_difference_of_the_totals() -> None:
    series = [_snap(-1.0, 3.0), _snap(4.0, 5.0), _snap(9.0, 11.0, 0.5)]  # 8 s held in 10 s
    found = blocking(series, _m())
    (blocker,) = found.blockers
    assert blocker.route == "GET /p" and blocker.seconds == pytest.approx(8.0)
    assert blocker.share == pytest.approx(0.8)
    assert blocker.frames[0].line == "time.sleep(1)"
    assert found.unattributed_s == pytest.approx(0.5)  # not blamed on the route


def test_snapshots_wider_than_the_window_are_scaled_to_it() -> None:
    series = [_snap(-5.0, 0.0), _snap(10.0, 15.0)]  # 15 s held over 15 s: all of it
    (blocker,) = blocking(series, _m()).blockers
    assert blocker.seconds == pytest.approx(10.0) and blocker.share == pytest.approx(1.0)


def test_without_a_snapshot_before_the_window_the_base_read_is_used() -> None:
    series = [_snap(2.0, 12.0), _snap(10.0, 20.0)]
    (blocker,) = blocking(series, _m(), base=_snap(0.0, 10.0)).blockers
    assert blocker.seconds == pytest.approx(10.0)


def test_nothing_blocked_and_not_recorded_differ() -> None:
    clean = blocking([_snap(-1.0, 3.0), _snap(9.0, 3.0)], _m())
    assert clean.recorded and not clean.blockers
    old = ServerSample(T0, 0.0, 0.0, 0, 0.0, 1.0, 1.0, 1.0, 1.0)
    assert not blocking([old], _m()).recorded


def test_a_damaged_blocked_snapshot_names_its_file(tmp_path: Path) -> None:
    m = replace(_m(), metrics="metrics/m.json")
    (tmp_path / "metrics").mkdir()
    good = {"t": T0, "blocked": {"threshold_ms": 20, "total_s": 1, "routes": []}}
    bad = {"t": T0 + 1, "blocked": {"routes": [{"route": "GET /p"}]}}  # no seconds
    (tmp_path / m.metrics).write_text(json.dumps({"series": [good]}))
    (sample,) = load_metrics(tmp_path, m)
    assert sample.blocked is not None and math.isnan(sample.blocked["cpu_s"])
    (tmp_path / m.metrics).write_text(json.dumps({"series": [good, bad]}))
    with pytest.raises(BenchError, match=r"m\.json: unreadable server metrics"):
        load_metrics(tmp_path, m)
