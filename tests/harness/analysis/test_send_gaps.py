"""The open model's stall rule: a gap in the generator's actual sends, in schedule spacings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.analysis import send_gaps
from harness.analysis.analyze import analyze
from tests.harness.analysis.test_open_model import W0, measurement, write_samples
from tests.harness.runs import edited_copy


def test_the_longest_gap_counts_the_window_edges() -> None:
    sent = [10.1, 10.2, 10.9, 11.0]
    assert send_gaps.longest_gap(sent, 10.0, 11.5) == pytest.approx(0.7)
    assert send_gaps.longest_gap([9.0, 12.0], 10.0, 11.0) == pytest.approx(1.0)  # none inside
    assert send_gaps.longest_gap(np.array([]), 10.0, 10.5) == pytest.approx(0.5)


def test_the_windows_gap_is_read_from_the_samples_actual_sends() -> None:
    sent = pd.DataFrame({"sent": ["10.1", "10.2", "10.9", "11.0"]})
    assert send_gaps.window_gap(sent, 10.0, 11.5) == pytest.approx(0.7)
    closed = pd.DataFrame({"sent": ["", ""]})  # the closed model leaves it empty
    assert np.isnan(send_gaps.window_gap(closed, 10.0, 11.5))
    assert np.isnan(send_gaps.window_gap(pd.DataFrame({"start": [10.5]}), 10.0, 11.5))


@pytest.mark.parametrize(
    ("gap_s", "rate", "stalled"),
    [
        (0.2, 1000.0, False),  # under 250 ms: the generator's lag rule's own limit
        (0.3, 1000.0, True),  # 300 spacings of 1 ms
        (0.3, 50.0, False),  # 15 spacings of 20 ms: Poisson does that
        (0.5, 50.0, True),  # 25 spacings
        (5.0, 0.0, False),  # the closed model: not this rule's
    ],
)
def test_a_stall_is_long_in_time_and_in_spacings(gap_s: float, rate: float, stalled: bool) -> None:
    text = send_gaps.stall_text(gap_s, rate)
    assert bool(text) is stalled
    if stalled:
        assert f"sent nothing for {gap_s:.2f} s" in text and "it stalled" in text


def _run_with(tmp_path: Path, meta: dict[str, object], gap: tuple[float, float]) -> Path:
    def edit(doc: dict[str, object]) -> None:
        doc["measurements"] += [measurement("async sleep", "async-sleep")]  # type: ignore[operator]

    folder = edited_copy(tmp_path, edit)
    path = folder / "samples" / "sleep--async-sleep--rate100--r0.csv"
    write_samples(path, lambda intended: 0.0)
    frame = pd.read_csv(path)
    silent = (frame["start"] >= gap[0]) & (frame["start"] < gap[1])
    frame.loc[silent, "sent"] = gap[1]  # everything due in the gap leaves at its end, late
    frame.to_csv(path, index=False)
    path.with_name(path.name.removesuffix(".csv") + ".meta.json").write_text(
        pd.Series(meta).to_json()
    )
    return folder


def test_a_silent_generator_is_a_stall_in_the_open_model(tmp_path: Path) -> None:
    folder = _run_with(tmp_path, {"dropped": 0}, (W0 + 0.5, W0 + 1.0))
    found = {d.measurement.endpoint: d for d in analyze(folder).disturbed}
    (reason,) = [r for r in found["async sleep"].reasons if r.rule == "stall"]
    assert "sent nothing for 0.5" in reason.text and "about 5" in reason.text


def test_a_gap_from_the_in_flight_cap_is_the_apps_not_a_stall(tmp_path: Path) -> None:
    folder = _run_with(tmp_path, {"dropped": 12}, (W0 + 0.5, W0 + 1.0))
    disturbed = [d for d in analyze(folder).disturbed if d.measurement.endpoint == "async sleep"]
    assert not [r for d in disturbed for r in d.reasons if r.rule == "stall"]


def test_the_count_rule_allows_the_requests_really_in_flight_not_the_open_models_cap(
    tmp_path: Path,
) -> None:
    """200 completions between the app's snapshots at the window's edges for the client, 170
    for the app: 30 lost. The open model's users are its cap (2,000), which used to be the
    slack; 5 were ever in flight."""
    import json

    folder = _run_with(tmp_path, {"dropped": 0, "max_in_flight_seen": 5}, (0.0, 0.0))
    series = [{"t": W0 - 1.0 + 0.5 * i, "requests_total": round(85 * 0.5 * i)} for i in range(8)]
    metrics = {"series": series[1:], "base": series[0]}
    (folder / "metrics").mkdir(exist_ok=True)
    (folder / "metrics" / "open.json").write_text(json.dumps(metrics))
    doc = json.loads((folder / "results.json").read_text())
    doc["measurements"][-1]["metrics"] = "metrics/open.json"
    (folder / "results.json").write_text(json.dumps(doc))
    found = {d.measurement.endpoint: d for d in analyze(folder).disturbed}
    (reason,) = [r for r in found["async sleep"].reasons if r.rule == "count"]
    assert "the client counted 200 completions, the app 170 (+17.6%)" in reason.text
