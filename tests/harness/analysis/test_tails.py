"""Censored percentiles and per-user fairness: exact answers on hand-made samples."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from harness.analysis.analyze import analyze
from harness.analysis.tails import Fairness, censored_percentiles, per_user
from harness.report import page, summary_json
from harness.report.markdown import markdown
from harness.report.terminal import results_table
from locustfiles.protocol import IN_FLIGHT_AT_END, SAMPLE_COLUMNS
from tests.harness.runs import FIXTURE

PITFALL = "pitfalls--pitfall-sleep--u10--r0"
WINDOW_START, WINDOW_END = 1700000040.0, 1700000042.0


def test_without_censored_values_the_percentiles_are_numpys_and_exact() -> None:
    done = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    found = censored_percentiles(done, np.array([]), (50, 90, 99))
    assert {q: p.value for q, p in found.items()} == {q: np.percentile(done, q) for q in found}
    assert not any(p.censored for p in found.values())


def test_a_percentile_that_reads_a_censored_value_is_a_lower_bound() -> None:
    # 1 … 8 completed, two in flight aged 8 and 20: sorted 1 … 8, 8 (censored), 20 (censored)
    done = np.arange(1.0, 9.0)
    found = censored_percentiles(done, np.array([20.0, 8.0]), (50, 70, 80, 90, 99))
    assert found[50].value == 5.5 and not found[50].censored  # rank 4.5: 5 and 6
    assert found[70].value == pytest.approx(7.3) and not found[70].censored  # rank 6.3: 7, 8
    # rank 7.2 reads the completed 8 and the censored 8: the same value, yet only a bound
    assert found[80].value == 8.0 and found[80].censored
    assert found[90].value == pytest.approx(9.2) and found[90].censored  # rank 8.1: 8, 20
    assert found[99].value == pytest.approx(8 + 12 * 0.91) and found[99].censored


def test_in_flight_requests_younger_than_the_percentile_are_left_out() -> None:
    # completed 100 … 1000; in flight for 5 ms (says nothing) and for 2 s (above every one)
    done = np.arange(100.0, 1001.0, 100.0)
    found = censored_percentiles(done, np.array([5.0, 2000.0]), (50, 99))
    assert found[50].value == 600.0 and not found[50].censored  # 11 values: the 6th
    assert found[99].value == pytest.approx(1000 + 1000 * 0.9) and found[99].censored
    healthy = censored_percentiles(done, np.array([5.0, 50.0]), (50, 99))
    assert {q: p.value for q, p in healthy.items()} == {50: 550.0, 99: np.percentile(done, 99)}
    assert not any(p.censored for p in healthy.values())


def test_only_censored_values_and_none_at_all() -> None:
    found = censored_percentiles(np.array([]), np.array([300.0]), (50, 99))
    assert found[50].value == 300.0 and found[50].censored and found[99].censored
    empty = censored_percentiles(np.array([]), np.array([]), (50,))
    assert math.isnan(empty[50].value) and not empty[50].censored


def test_fairness_pads_the_users_that_never_completed() -> None:
    fair = Fairness.of((4, 0, 2), users=4)
    assert fair is not None
    assert (fair.users, fair.min, fair.median, fair.max) == (4, 0, 1.0, 4)
    assert fair.idle == 0.5 and fair.cv == pytest.approx(math.sqrt(2.75) / 1.5)
    assert fair.dispersion == pytest.approx(2.75 / 1.5)
    assert Fairness.of((), users=3) is None and Fairness.of((0, 0), users=2) is None


def test_per_user_counts_only_the_counted_rows_and_skips_unknown_users() -> None:
    user = np.array([0, 2, 2, -1, 1, 2])
    counted = np.array([True, True, True, True, False, True])
    assert per_user(user, counted) == (1, 0, 3)
    assert per_user(np.array([-1]), np.array([True])) == ()


def _censored_run(tmp_path: Path) -> Path:
    """run-small with pitfall sleep rewritten: 20 successes in its window, all by 7 of its 10
    users (user 0 has 14), user 9 only in the warm-up; two requests in flight at the end."""
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)  # never write into tests/fixtures
    elapsed = [50.0 * k for k in range(1, 21)]  # 50 … 1000 ms
    users = [0] * 14 + [1, 2, 3, 4, 5, 6]
    end = WINDOW_START + 1.5
    rows = [
        (end - e / 1000, e, 200, 29, "", "pitfall sleep", u)
        for e, u in zip(elapsed, users, strict=True)
    ]
    rows.append((WINDOW_START - 1.0, 100.0, 200, 29, "", "pitfall sleep", 9))  # the warm-up
    samples = run_dir / "samples" / f"{PITFALL}.csv"
    columns = list(SAMPLE_COLUMNS[:7])  # a closed-model file before the open model's columns
    pd.DataFrame(rows, columns=columns).to_csv(samples, index=False)
    meta_path = samples.with_suffix(".meta.json")
    meta = json.loads(meta_path.read_text())
    meta[IN_FLIGHT_AT_END] = [
        [WINDOW_END - 1.5, "pitfall sleep", 8],
        [WINDOW_END - 1.0, "pitfall sleep", 7],
    ]
    meta_path.write_text(json.dumps(meta))
    return run_dir


def test_in_flight_requests_are_censored_samples_of_the_window(tmp_path: Path) -> None:
    analysis = analyze(_censored_run(tmp_path))
    table = analysis.table.set_index("endpoint")
    row = table.loc["pitfall sleep"]
    # 50 … 1000 completed, 1000 and 1500 censored: 22 values
    assert row.p50_ms == 575.0 and not row.p50_censored  # ranks 10, 11: 550, 600
    assert row.p90_ms == pytest.approx(995.0) and not row.p90_censored  # rank 18.9: 950, 1000
    assert row.p99_ms == pytest.approx(1000 + 500 * 0.79) and row.p99_censored  # rank 20.79
    assert (row.in_flight_at_end, row.oldest_in_flight_ms) == (2.0, 1500.0)
    # completions per user: 14, 1 × 6, 0 × 3 (users 7 and 8 in flight, 9 only warmed up)
    assert (row.user_min, row.user_median, row.user_max) == (0.0, 1.0, 14.0)
    assert row.users_idle == pytest.approx(0.3)
    assert row.user_dispersion == pytest.approx(16.2 / 2) and row.user_cv == pytest.approx(
        math.sqrt(16.2) / 2
    )
    other = table.loc["fixed sleep"]  # an old file: no in-flight record, no user column
    assert math.isnan(other.in_flight_at_end) and math.isnan(other.user_cv)
    assert not (other.p50_censored or other.p90_censored or other.p99_censored)
    said = [w for w in analysis.warnings if "in flight" in w or "unevenly" in w]
    assert len(said) == 2
    assert "2 requests were still in flight" in said[0] and "oldest for 1.5 s" in said[0]
    assert "p99 is only a lower bound (p99 ≥ 1,395.0 ms, censored)" in said[0]
    assert "served its users unevenly" in said[1] and "30% of the users" in said[1]


def test_the_reports_show_the_bound_the_in_flight_and_the_spread(tmp_path: Path) -> None:
    analysis = analyze(_censored_run(tmp_path))
    text = markdown(analysis)
    assert "| in flight at end | completions per user (min / median / max) |" in text
    assert "| 575.0 | ≥ 1,395.0 | 0 | 2 (oldest 1.5 s) | 0 / 1 / 14, CV 2.01 |" in text
    doc = json.loads(summary_json.text(analysis))
    jsonschema.Draft202012Validator(summary_json.schema()).validate(doc)
    record = next(m for m in doc["measurements"] if m["endpoint"] == "pitfall sleep")
    assert record["latency_ms"]["censored"] == {"p50": False, "p90": False, "p99": True}
    assert record["in_flight_at_end"] == {"count": 2, "oldest_age_ms": 1500.0}
    assert record["fairness"]["unfair"] and record["fairness"]["idle_share"] == pytest.approx(0.3)
    fixed = next(m for m in doc["measurements"] if m["endpoint"] == "fixed sleep")
    assert fixed["in_flight_at_end"] is None and fixed["fairness"] is None
    view = results_table(analysis)
    assert [c.header for c in view.columns][-2:] == ["in flight at end", "per user min/med/max"]
    assert "≥ 1,395.0" in list(view.columns[5].cells)
    html = page.render(analysis, {}).read_text()
    assert "<th>in flight at end</th>" in html and "<td>2 (oldest 1.5 s)</td>" in html
    assert 'end">≥ 1,395.0</td>' in html and 'class="finding">0 / 1 / 14, CV 2.01' in html


def test_an_old_run_says_nothing_new(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    analysis = analyze(run_dir)
    assert "in flight" not in markdown(analysis)
    assert [c.header for c in results_table(analysis).columns][-1] == "loadgen CPU"
    assert "in flight" not in page.render(analysis, {}).read_text()
    assert not any("in flight" in w or "unevenly" in w for w in analysis.warnings)
