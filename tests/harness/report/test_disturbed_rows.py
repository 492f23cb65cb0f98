"""A disturbed measurement is never shown as a clean number: the terminal table, summary.md,
the page and summary.json mark its RPS and say why."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from harness.analysis.analyze import Analysis, analyze
from harness.report import markdown, page, summary_json, terminal
from locustfiles import protocol as p

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "run-small"
WHY = "900 ms late"


@pytest.fixture(scope="module")
def disturbed(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    run_dir = tmp_path_factory.mktemp("disturbed") / "run"
    shutil.copytree(FIXTURE, run_dir)
    meta_path = run_dir / "samples" / "sleep--async-sleep--u10--r1.meta.json"
    meta = json.loads(meta_path.read_text())
    meta[p.LOADGEN_LAG_MAX_MS] = 900.0
    meta_path.write_text(json.dumps(meta))
    return analyze(run_dir)


def test_the_terminal_marks_the_rps_and_says_why(disturbed: Analysis) -> None:
    buffer = io.StringIO()
    Console(file=buffer, width=250).print(terminal.results_table(disturbed))
    row = next(line for line in buffer.getvalue().splitlines() if "async sleep" in line)
    assert "⚠ disturbed" in row
    note = terminal.disturbed_note(disturbed)
    assert note.startswith("⚠ disturbed") and WHY in note and "async sleep @ 10 users (#2)" in note


def test_summary_md_marks_the_rps_and_lists_the_reason(disturbed: Analysis) -> None:
    text = markdown.markdown(disturbed)
    row = next(line for line in text.splitlines() if line.startswith("| sleep | async sleep"))
    assert "⚠ disturbed" in row
    assert "**Disturbed measurements**" in text and WHY in text


def test_summary_json_flags_it_and_stays_valid(disturbed: Analysis) -> None:
    document = summary_json.summary(disturbed)
    jsonschema.Draft202012Validator(summary_json.schema()).validate(document)
    records = {r["endpoint"]: r for r in document["measurements"]}
    assert "disturbed" in records["async sleep"]["flags"]
    assert any(WHY in r for r in records["async sleep"]["disturbed"])
    assert (
        records["sync sleep"]["disturbed"] == []
        and "disturbed" not in records["sync sleep"]["flags"]
    )


def test_the_page_marks_the_cell_and_has_a_banner(disturbed: Analysis) -> None:
    html = page._page(disturbed, {})
    assert "Disturbed measurements" in html and WHY in html
    assert html.count("⚠ disturbed") >= 2
