"""Checks judged on the checked-in run ``run-small``, whose figures are known exactly (see
``test_tables.py``): sync sleep 95 / async sleep 90 / pitfall sleep 10 / fixed sleep 100 RPS at
10 users, sync sleep with 3 errors (1 timeout) of 383 requests, 963 requests in the run."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from harness import results
from harness.analysis import gate
from harness.analysis.analyze import Analysis, analyze
from harness.analysis.checks import parse
from harness.errors import CHECK_FAILED, BenchError
from tests.harness.runs import FIXTURE, edited_copy


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    return analyze(FIXTURE)  # reads the fixture, writes nothing


def judged(analysis: Analysis, text: str) -> list[gate.Result]:
    return gate.judge(analysis, [parse(text)])


def one(analysis: Analysis, text: str) -> gate.Result:
    (verdict,) = judged(analysis, text)
    return verdict


@pytest.mark.parametrize(
    ("text", "value", "passed", "measured"),
    [
        ("sync sleep: rps >= 95", 95.0, True, "95.0 RPS"),
        ("sync sleep: rps > 95", 95.0, False, "95.0 RPS"),
        ("async sleep: rps >= 900", 90.0, False, "90.0 RPS"),
        ("SYNC SLEEP @ 10: p50 <= 109.375ms", 109.375, True, "109.4 ms"),
        ("sync sleep: p99 <= 0.1s", 113.75, False, "113.8 ms"),
        ("sync sleep: max < 118", 118.0, False, "118.0 ms"),
        ("sync sleep: mean == 109.375", 109.375, True, "109.4 ms"),  # median of 104.75 and 114
        ("sync sleep: errors == 0", 3.0, False, "3"),
        ("sync sleep: timeouts <= 1", 1.0, True, "1"),
        ("sync sleep: error_rate <= 1%", 3 / 383, True, "0.78 %"),
        ("async sleep: measured/predicted >= 90%", 0.9, True, "90 %"),
        ("sync sleep: ratio_to_model >= 0.96", 0.95, False, "95 %"),
    ],
)
def test_a_metric_is_the_tables_figure(
    analysis: Analysis, text: str, value: float, passed: bool, measured: str
) -> None:
    verdict = one(analysis, text)
    assert verdict.value == pytest.approx(value, abs=1e-12)
    assert (verdict.passed, verdict.measured) == (passed, measured)
    assert verdict.users == 10 and verdict.where.endswith(" @ 10 users")


def test_a_verdict_says_where_what_and_why(analysis: Analysis) -> None:
    failed = one(analysis, "async sleep: rps >= 900")
    assert failed == gate.Result(
        check="async sleep: rps >= 900",
        where="sleep / async sleep @ 10 users",
        measured="90.0 RPS",
        threshold="≥ 900 RPS",
        passed=False,
        why="90.0 RPS < 900 RPS",
        value=90.0,
        limit=900.0,
        scenario="sleep",
        endpoint="async sleep",
        users=10,
    )
    passed = one(analysis, "pitfall sleep: p99 <= 2s")
    assert (passed.threshold, passed.why) == ("≤ 2,000 ms", "1,094.0 ms ≤ 2,000 ms")
    assert one(analysis, "sync sleep: errors == 0").why == "3 ≠ 0"


def test_run_wide_checks_count_every_measurement(analysis: Analysis) -> None:
    errors = one(analysis, "errors == 0")
    assert (errors.passed, errors.value, errors.where) == (False, 3.0, "every measurement (6)")
    assert one(analysis, "timeouts <= 1").passed
    rate = one(analysis, "error_rate <= 0.5%")
    assert rate.value == pytest.approx(3 / 963) and rate.passed and rate.measured == "0.31 %"


def test_a_ratio_is_judged_by_its_confidence_interval(analysis: Analysis) -> None:
    """The same statistics as the report's in-run comparison: async sleep / sync sleep is 0.947
    with a 95 % CI of about [0.89, 1.01] (not significant)."""
    (comparison,) = [c for c in analysis.comparisons if c["a"] == "async sleep"]
    at_least = one(analysis, "async sleep / sync sleep >= 0.85")
    assert at_least.value == pytest.approx(90 / 95) == comparison["ratio"]
    assert at_least.measured == f"0.95× [{comparison['low']:.2f}, {comparison['high']:.2f}]"
    assert at_least.passed and at_least.where == "sleep: async sleep / sync sleep @ 10 users"
    # the estimate 0.947 is above 0.9, but the lower bound (0.89) is not: no pass
    below = one(analysis, "async sleep / sync sleep >= 0.9")
    assert not below.passed
    assert below.why == f"lower bound of the 95 % CI: {comparison['low']:.2f} < 0.9"
    assert one(analysis, "async sleep / sync sleep <= 1.01").passed
    assert not one(analysis, "async sleep / sync sleep <= 1").passed  # upper bound 1.005
    assert one(analysis, "async sleep / sync sleep == 1").passed  # 1 lies inside the CI
    assert not one(analysis, "async sleep / sync sleep == 2").passed
    fixed = one(analysis, "fixed sleep / pitfall sleep @ 10 >= 8x")
    assert fixed.passed and fixed.value == pytest.approx(10.0)


def test_a_check_without_users_applies_at_each_level_and_one_with_them_at_one(
    analysis: Analysis,
) -> None:
    assert [v.users for v in judged(analysis, "sync sleep: rps >= 1")] == [10]
    missing = one(analysis, "sync sleep @ 50: rps >= 1")
    assert (missing.passed, missing.measured, missing.why) == (
        False,
        "n/a",
        "not measured in this run",
    )
    none = one(analysis, "sync sleep / async sleep @ 50 >= 1")
    assert not none.passed and none.why == "no users level measured for both"


def test_a_label_the_run_does_not_have_fails_with_the_known_ones(analysis: Analysis) -> None:
    unknown = one(analysis, "nosuch: rps >= 1")
    assert not unknown.passed and unknown.measured == "n/a"
    assert unknown.why == (
        "unknown endpoint 'nosuch'; known: sync sleep, async sleep, pitfall sleep, fixed sleep"
    )


def test_a_measurement_without_a_successful_request_shows_n_a(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    for path in (run_dir / "samples").glob("pitfalls--pitfall-sleep--*.csv"):
        head, *rows = path.read_text().splitlines()
        path.write_text("\n".join([head, *(r.rsplit(",", 3)[0] + ",500,0,HTTP 500" for r in rows)]))
    found = analyze(run_dir)
    latency = one(found, "pitfall sleep: p99 <= 2s")
    assert (latency.passed, latency.measured, latency.why) == (
        False,
        "n/a",
        "no successful request",
    )
    assert math.isnan(latency.value)
    ratio = one(found, "fixed sleep / pitfall sleep >= 1")  # nothing to divide by
    assert (ratio.passed, ratio.measured) == (False, "n/a")
    rps = one(found, "pitfall sleep: rps == 0")
    assert rps.passed and rps.measured == "0.0 RPS"


def test_the_run_saves_its_checks_and_the_analysis_judges_them(tmp_path: Path) -> None:
    def add_checks(doc: dict[str, object]) -> None:
        doc["checks"] = ["sync sleep: rps >= 90", "errors == 0"]
        doc["scenarios"][1]["checks"] = ["fixed sleep / pitfall sleep >= 8"]  # type: ignore[index]

    run_dir = edited_copy(tmp_path, add_checks)
    found = analyze(run_dir)
    assert [(v.check, v.passed) for v in found.checks] == [
        ("sync sleep: rps >= 90", True),
        ("errors == 0", False),
        ("fixed sleep / pitfall sleep >= 8", True),
    ]
    assert gate.exit_code(found.checks) == CHECK_FAILED == 1
    assert gate.exit_code(found.checks[:1]) == 0 and gate.exit_code([]) == 0
    assert [c.scope for c in gate.from_run(found.run)] == ["", "", "pitfalls"]


def test_a_scenario_files_check_is_judged_inside_its_scenario(tmp_path: Path) -> None:
    def scoped(doc: dict[str, object]) -> None:
        doc["scenarios"][1]["checks"] = ["sync sleep: rps >= 1"]  # type: ignore[index]

    (verdict,) = analyze(edited_copy(tmp_path, scoped)).checks
    assert not verdict.passed
    assert verdict.why == "unknown endpoint 'sync sleep'; known: pitfall sleep, fixed sleep"


def test_a_run_without_checks_has_none(analysis: Analysis) -> None:
    on_disk = json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))
    assert "checks" not in on_disk and analysis.run.checks == [] and analysis.checks == []


def test_a_damaged_saved_check_is_a_one_line_error(tmp_path: Path) -> None:
    run_dir = edited_copy(tmp_path, lambda doc: doc.update(checks=["sync sleep: rps >= fast"]))
    with pytest.raises(BenchError) as info:
        analyze(run_dir)
    assert str(info.value) == (
        "run 20231114-221320-small: a saved check 'sync sleep: rps >= fast': 'fast' is not a "
        "number ≥ 0 (e.g. 900)"
    )
    bad_type = edited_copy(tmp_path / "x", lambda doc: doc.update(checks="errors == 0"))
    with pytest.raises(BenchError, match="invalid results: checks: expected a list of strings"):
        results.load(bad_type)
