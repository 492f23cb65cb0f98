"""``bench report``'s exports: html as before; md, json, csv and github-action-benchmark input
printed (or written with --out) without drawing a chart; every bad option one ``error:`` line."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner, Result

import bench
from harness.report import summary_json
from harness.report.exports import CSV_COLUMNS
from tests.test_cli import one_line_error

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE = FIXTURES / "run-small"
ENDPOINTS = ["sync sleep", "async sleep", "pitfall sleep", "fixed sleep"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(bench.app, ["report", *args])


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "run-small"
    shutil.copytree(FIXTURE, copy)  # never write into tests/fixtures
    return copy


def written(run_dir: Path) -> set[str]:
    """What the command added to the run folder."""
    return {p.name for p in run_dir.iterdir()} - {p.name for p in FIXTURE.iterdir()}


def test_html_is_still_the_default_and_writes_summary_json(run_dir: Path) -> None:
    result = invoke(str(run_dir))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"report: {run_dir / 'index.html'}"
    assert {"index.html", "summary.md", "summary.json", "rps-sleep.png"} <= written(run_dir)
    jsonschema.validate(
        json.loads((run_dir / "summary.json").read_text(encoding="utf-8")),
        summary_json.schema(),
        cls=jsonschema.Draft202012Validator,
    )


@pytest.mark.parametrize("args", [["--format", "json"], ["--json"], ["--json", "--format", "json"]])
def test_json_prints_a_valid_summary_and_writes_nothing(run_dir: Path, args: list[str]) -> None:
    result = invoke(str(run_dir), *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    doc = json.loads(result.stdout)  # nothing but the document on stdout
    jsonschema.validate(doc, summary_json.schema(), cls=jsonschema.Draft202012Validator)
    assert [m["endpoint"] for m in doc["measurements"]] == ENDPOINTS
    assert written(run_dir) == set(), "no chart, no page, no file"


def test_the_printed_json_is_the_file_build_writes(run_dir: Path) -> None:
    printed = invoke(str(run_dir), "--json").stdout
    assert invoke(str(run_dir)).exit_code == 0
    assert printed == (run_dir / "summary.json").read_text(encoding="utf-8")


def test_md_prints_summary_md(run_dir: Path) -> None:
    result = invoke(str(run_dir), "--format", "md")
    assert result.exit_code == 0, result.output
    golden = (FIXTURES / "summary-small.md").read_text(encoding="utf-8")
    assert result.stdout == golden
    assert written(run_dir) == set()


def test_csv_has_a_header_and_one_row_per_measurement(run_dir: Path) -> None:
    result = invoke(str(run_dir), "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.stdout.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert [r["endpoint"] for r in rows] == ENDPOINTS
    sync = rows[0]
    assert sync["scenario"] == "sleep" and sync["path"] == "/sync/sleep?ms=100"
    assert float(sync["rps"]) == 95.0 and float(sync["rps_ci_low"]) < 95.0
    assert float(sync["p99_ms"]) == pytest.approx(113.75)
    assert sync["errors"] == "3" and sync["timeouts"] == "1" and sync["flags"] == "errors"
    assert sync["mix"] == ""  # null is an empty cell
    assert written(run_dir) == set()


def test_csv_shows_a_missing_prediction_as_an_empty_cell(run_dir: Path) -> None:
    path = run_dir / "results.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for m in doc["measurements"]:
        if m["endpoint"] == "fixed sleep":
            m["model"] = {"concurrency": ""}
    path.write_text(json.dumps(doc), encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(invoke(str(run_dir), "--format", "csv").stdout)))
    fixed = rows[-1]
    assert fixed["predicted_rps"] == fixed["measured_over_predicted"] == fixed["binding"] == ""


def test_github_benchmark_is_the_custom_bigger_is_better_list(run_dir: Path) -> None:
    result = invoke(str(run_dir), "--format", "github-benchmark")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [e["name"] for e in entries] == [
        "sleep / sync sleep @ 10 users",
        "sleep / async sleep @ 10 users",
        "pitfalls / pitfall sleep @ 10 users",
        "pitfalls / fixed sleep @ 10 users",
    ]
    for entry in entries:
        assert set(entry) <= {"name", "unit", "value", "range", "extra"}
        assert entry["unit"] == "req/s" and isinstance(entry["value"], float)
        assert isinstance(entry["extra"], str) and entry["range"].startswith("95% CI ")
    assert [e["value"] for e in entries] == [95.0, 90.0, 10.0, 100.0]


def test_github_benchmark_latency_is_the_p99_smaller_is_better(run_dir: Path) -> None:
    entries = json.loads(invoke(str(run_dir), "--format", "github-benchmark-latency").stdout)
    assert [e["unit"] for e in entries] == ["ms"] * 4
    assert entries[0]["value"] == pytest.approx(113.75)  # sync sleep's p99
    assert all(set(e) <= {"name", "unit", "value", "range", "extra"} for e in entries)


def test_out_writes_the_export_to_a_file(run_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "rps.json"
    result = invoke(str(run_dir), "--format", "github-benchmark", "--out", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"github-benchmark: {target}"
    assert len(json.loads(target.read_text(encoding="utf-8"))) == 4
    assert written(run_dir) == set()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--format", "xml"], ["--format", "'xml'", "github-benchmark-latency"]),
        (["--json", "--format", "csv"], ["--json", "--format csv"]),
        (["--out", "x.html"], ["--out", "html is the whole report"]),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(
    run_dir: Path, args: list[str], words: list[str]
) -> None:
    result = invoke(str(run_dir), *args)
    line = one_line_error(result)
    assert result.exit_code == 2
    assert all(w in line for w in words), line
    assert "bench report --help" in line
    assert written(run_dir) == set()


def test_out_into_a_missing_folder_or_onto_a_folder(run_dir: Path, tmp_path: Path) -> None:
    line = one_line_error(invoke(str(run_dir), "--json", "--out", str(tmp_path / "no" / "x")))
    assert "--out" in line and "no such folder" in line
    line = one_line_error(invoke(str(run_dir), "--json", "--out", str(tmp_path)))
    assert "--out" in line and "is a folder" in line


@pytest.mark.parametrize("form", ["json", "csv", "md", "github-benchmark"])
def test_an_unreadable_run_stays_a_one_line_error(run_dir: Path, form: str) -> None:
    (run_dir / "results.json").write_text("{ this is not json", encoding="utf-8")
    result = invoke(str(run_dir), "--format", form)
    line = one_line_error(result)
    assert result.exit_code == 2 and "unreadable results" in line


def test_not_a_run_folder_with_json(tmp_path: Path) -> None:
    line = one_line_error(invoke(str(tmp_path), "--json"))
    assert "not a run folder" in line


def _with_checks(run_dir: Path, checks: list[str]) -> None:
    path = run_dir / "results.json"
    doc = json.loads(path.read_text())
    doc["checks"] = checks
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("args", [[], ["--json"], ["--format", "csv"], ["--format", "md"]])
def test_a_saved_check_that_fails_is_exit_1_in_every_format(run_dir: Path, args: list[str]) -> None:
    """CI can rebuild or export a past run and still be gated by its checks."""
    _with_checks(run_dir, ["async sleep / sync sleep >= 2", "sync sleep: p99 <= 300ms"])
    result = invoke(str(run_dir), *args)
    assert result.exit_code == 1, result.output
    assert "checks: 1 of 2 failed" in result.output
    if args == ["--json"]:  # stdout stays the document alone; the line goes to stderr
        doc = json.loads(result.stdout)
        assert doc["checks_passed"] is False
        assert [c["passed"] for c in doc["checks"]] == [False, True]
        ratio = doc["checks"][0]
        assert ratio["value"] < ratio["limit"] == 2 and ratio["users"] == 10
        jsonschema.validate(doc, summary_json.schema())


def test_checks_that_pass_are_exit_0_and_a_run_without_any_says_null(run_dir: Path) -> None:
    result = invoke(str(run_dir), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["checks_passed"] is None
    _with_checks(run_dir, ["sync sleep: p99 <= 300ms"])
    result = invoke(str(run_dir), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["checks_passed"] is True


def test_csv_has_the_open_model_columns_empty_for_the_closed_model(run_dir: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(invoke(str(run_dir), "--format", "csv").stdout)))
    assert all(r["offered_rate"] == "" and r["overloaded"] == "" for r in rows)
    assert all(r["late"] == "0" and r["dropped"] == "0" for r in rows)
