"""summary.json: written by ``build`` beside summary.md, valid against its schema on the
checked-in runs, a synthetic run, a mix and a run with a blocked loop; its numbers are the
table's, a missing value is null, and the flags say what the warnings say."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from harness.analysis.analyze import analyze
from harness.report import summary_json
from harness.report.build import build
from scripts import synthetic_run
from tests.harness.analysis.test_mixes import write_mix_run
from tests.harness.report.test_blocking_table import FIXED, PITFALL, _blocked, _with_blocked
from tests.harness.runs import FIXTURE, FIXTURES, edited_copy

VALIDATOR = jsonschema.Draft202012Validator(summary_json.schema())


def valid(document: dict[str, Any]) -> dict[str, Any]:
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    return document


def document(run_dir: Path) -> dict[str, Any]:
    text = summary_json.text(analyze(run_dir))
    assert "NaN" not in text and "Infinity" not in text
    return valid(json.loads(text))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    run_dir = tmp_path_factory.mktemp("summary") / "run-small"
    shutil.copytree(FIXTURE, run_dir)  # never write into tests/fixtures
    built = build(run_dir)
    assert built.data == run_dir / "summary.json" and built.summary.is_file()
    return run_dir, json.loads(built.data.read_text(encoding="utf-8"))


def test_the_schema_is_a_valid_draft_2020_12_schema_of_this_version() -> None:
    schema = summary_json.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema"] == {"const": summary_json.SCHEMA}
    assert summary_json.SCHEMA == "bench-summary/1"
    assert schema["$id"].endswith("bench-summary:1") and schema["title"].startswith(
        "bench-summary/1"
    )
    assert summary_json.SCHEMA_FILE.name == "summary-1.schema.json"


def test_build_writes_a_valid_summary_beside_summary_md(
    small: tuple[Path, dict[str, Any]],
) -> None:
    run_dir, doc = small
    valid(doc)
    assert doc["schema"] == "bench-summary/1" and doc["run_id"] == "20231114-221320-small"
    assert doc["status"] == "complete" and doc["results_schema"] == 2
    assert doc["metadata"]["cpu_model"] == "Fixture CPU @ 2.00GHz"
    assert doc["metadata"]["pinning"]["app"] == [0]
    assert [m["endpoint"] for m in doc["measurements"]] == [
        "sync sleep",
        "async sleep",
        "pitfall sleep",
        "fixed sleep",
    ]
    assert len(doc["claims"]) == 7 and doc["claims"][2]["verdict"] == "true"
    assert not (FIXTURE / "summary.json").exists()


def test_the_file_has_sorted_keys_and_is_what_text_gives(
    small: tuple[Path, dict[str, Any]],
) -> None:
    run_dir, doc = small
    text = (run_dir / "summary.json").read_text(encoding="utf-8")
    assert text == json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert text == summary_json.text(analyze(run_dir))


def test_the_numbers_are_the_tables(small: tuple[Path, dict[str, Any]]) -> None:
    run_dir, doc = small
    analysis = analyze(run_dir)
    table = analysis.table.set_index("endpoint")
    for record in doc["measurements"]:
        row = table.loc[record["endpoint"]]
        assert record["rps"]["value"] == row["rps"]
        assert record["rps"]["ci_low"] == row["rps_ci_low"]
        assert record["rps"]["ci_high"] == row["rps_ci_high"]
        assert record["latency_ms"]["p99"] == row["p99_ms"]
        assert record["latency_ms"]["max"] == row["max_ms"]
        assert record["requests"] == row["requests"] and record["errors"] == row["errors"]
        assert record["predicted_rps"] == row["predicted_rps"]
        assert record["measured_over_predicted"] == row["ratio"]
        assert isinstance(record["users"], int) and isinstance(record["errors"], int)
    sync = doc["measurements"][0]
    assert sync["rps"]["value"] == 95.0  # the median of the two repeats, 90 and 100
    assert (sync["rps"]["min"], sync["rps"]["max"]) == (90.0, 100.0)
    assert sync["path"] == "/sync/sleep?ms=100" and sync["mix"] is None
    assert sync["binding"] == "users: 10" and sync["timeouts"] == 1
    summary = analysis.summary
    means = summary[summary["endpoint"] == "sync sleep"]["mean_ms"]
    assert sync["latency_ms"]["mean"] == float(np.median(means))  # median over repeats


def test_comparisons_keep_the_ratio_its_interval_and_the_verdict(
    small: tuple[Path, dict[str, Any]],
) -> None:
    _, doc = small
    same, slower = doc["comparisons"]
    assert (same["a"], same["b"], same["users"]) == ("async sleep", "sync sleep", 10)
    assert same["significant"] is False and "no significant difference" in same["verdict"]
    assert slower["significant"] is True
    assert slower["ratio"]["estimate"] == pytest.approx(0.1)
    assert slower["ratio"]["low"] < 0.1 < slower["ratio"]["high"]
    assert slower["p_value"] < 0.05


def test_flags_say_per_row_what_the_warnings_say(small: tuple[Path, dict[str, Any]]) -> None:
    _, doc = small
    flags = {m["endpoint"]: m["flags"] for m in doc["measurements"]}
    assert flags == {
        "sync sleep": ["errors"],
        "async sleep": ["repeats_disagree"],
        "pitfall sleep": ["few_requests"],
        "fixed sleep": [],
    }
    assert len(doc["warnings"]) == 3 and doc["loadgen_saturated"] is False


def test_a_missing_value_is_null_never_nan(tmp_path: Path) -> None:
    """No model for one endpoint and no server metrics at all: nulls, and the file is valid."""

    def edit(doc: dict[str, Any]) -> None:
        for m in doc["measurements"]:
            m["metrics"] = ""  # the app's signals were not recorded
            if m["endpoint"] == "fixed sleep":
                m["model"] = {"concurrency": ""}  # "no model given"

    doc = document(edited_copy(tmp_path, edit))
    fixed = next(m for m in doc["measurements"] if m["endpoint"] == "fixed sleep")
    assert fixed["predicted_rps"] is None and fixed["measured_over_predicted"] is None
    assert fixed["binding"] is None and "no model given" in fixed["explanation"]
    assert set(fixed["server"].values()) == {None}


def test_clean_turns_numpy_and_non_finite_values_into_json() -> None:
    raw = {
        "a": np.float64("nan"),
        "b": np.inf,
        "c": -math.inf,
        "d": np.int64(3),
        "e": np.bool_(True),
        "f": (np.float32(0.5), "x"),
    }
    cleaned = summary_json.clean(raw)
    assert cleaned == {"a": None, "b": None, "c": None, "d": 3, "e": True, "f": [0.5, "x"]}
    assert type(cleaned["d"]) is int and type(cleaned["e"]) is bool
    assert summary_json.dumps(cleaned).startswith("{")
    with pytest.raises(ValueError):
        summary_json.dumps({"left": math.nan})  # a NaN that escaped clean is a bug: it raises


def test_the_second_fixture_run_is_valid(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-small-b"
    shutil.copytree(FIXTURES / "run-small-b", run_dir)
    doc = document(run_dir)
    assert len(doc["measurements"]) == 4


def test_a_synthetic_run_is_valid_and_says_it_is_synthetic(tmp_path: Path) -> None:
    run_dir = synthetic_run.build(tmp_path, "sleep", 5_000, seed=3)
    doc = document(run_dir)
    assert doc["metadata"]["synthetic"] is True and "not a measurement" in doc["note"]
    assert len(doc["measurements"]) == 6  # 2 endpoints × 3 users levels
    assert {s["name"] for s in doc["scenarios"]} == {"sleep"}
    assert doc["scenarios"][0]["threadpool_tokens"] == 40
    assert all(m["predicted_rps"] is not None for m in doc["measurements"])


def test_a_mix_has_its_parts_and_each_part_row_names_its_mix(tmp_path: Path) -> None:
    run_dir = write_mix_run(tmp_path)
    doc = document(run_dir)
    rows = {m["endpoint"]: m for m in doc["measurements"]}
    assert rows["fast (in busy)"]["mix"] == "busy" and rows["fast"]["mix"] is None
    assert rows["busy"]["variant"] == "mix"
    (mixed,) = doc["mixes"]
    fast = next(p for p in mixed["parts"] if p["endpoint"] == "fast")
    assert fast["asked_share"] == pytest.approx(0.9) and fast["solo_p50_ms"] == pytest.approx(10)
    slow = next(p for p in mixed["parts"] if p["endpoint"] == "slow")
    assert slow["solo_p50_ms"] is None  # never measured alone: null, not NaN
    assert "the thread pool was full" in mixed["sentence"]


def test_who_blocked_the_loop_is_kept(tmp_path: Path) -> None:
    run_dir = edited_copy(tmp_path, lambda doc: None)
    held = [0.1, 0.5, 1.0, 1.4, 1.9]
    _with_blocked(run_dir, PITFALL, [_blocked(s, 0.1 * i) for i, s in enumerate(held)])
    series = json.loads((run_dir / FIXED).read_text())["series"]
    _with_blocked(
        run_dir, FIXED, [{"threshold_ms": 20.0, "total_s": 0.0, "routes": []}] * len(series)
    )
    doc = document(run_dir)
    pitfall, fixed = doc["blocking"]  # only the measurements the watchdog recorded
    assert pitfall["endpoint"] == "pitfall sleep" and pitfall["threshold_ms"] == 20.0
    (blocker,) = pitfall["blockers"]
    assert blocker["route"] == "GET /pitfall/sleep" and 0 < blocker["share"] <= 1
    assert blocker["frames"][0]["line"] == "time.sleep(ms / 1000)"
    assert fixed["endpoint"] == "fixed sleep" and fixed["blockers"] == []


def test_the_open_model_fields_are_null_or_zero_for_users_and_optional(
    small: tuple[Path, dict[str, Any]],
) -> None:
    _, doc = small
    for record in doc["measurements"]:  # the closed model: no rate, no service time
        assert (record["rate"], record["service_ms"], record["late"], record["dropped"]) == (
            None,
            None,
            0,
            0,
        )
    older = json.loads(json.dumps(doc))  # a document written before the open model
    for record in older["measurements"]:
        for key in ("rate", "service_ms", "late", "dropped"):
            del record[key]
    valid(older)
    wrong = json.loads(json.dumps(doc))
    wrong["measurements"][0]["rate"] = {"offered": 0, "achieved": 1.0}  # strict: all, offered > 0
    assert not VALIDATOR.is_valid(wrong)
