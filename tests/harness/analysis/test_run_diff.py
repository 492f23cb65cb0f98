"""`bench compare` on two checked-in runs: golden Markdown, machine check, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench import app
from harness.analysis.run_diff import diff_runs, parse_threshold
from harness.errors import BenchError
from harness.report import diff_pages

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
A, B = FIXTURES / "run-small", FIXTURES / "run-small-b"


def test_markdown_matches_the_golden_file(tmp_path: Path) -> None:
    diff = diff_runs(A, B)
    rows = diff.rows
    md_path, html_path = diff_pages.write(diff, tmp_path)
    assert md_path.read_text() == (FIXTURES / "compare-small.md").read_text()
    verdicts = {r.endpoint: r.verdict for r in rows}
    assert verdicts["async sleep"].startswith("B is 2.00× faster")
    assert verdicts["sync sleep"].startswith("B is 2.01× slower")
    assert verdicts["pitfall sleep"].startswith("no significant difference")
    html = html_path.read_text()
    assert html.count("<tr>") == 1 + len(rows) and "http" not in html.split("<body>")[0]


def test_cli_prints_the_table_and_the_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["compare", str(A), str(B), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "B is 2.00× faster" in result.stdout
    assert f"markdown: {tmp_path / 'compare.md'}" in result.stdout


def _other_machine(tmp_path: Path) -> Path:
    other = tmp_path / "other"
    shutil.copytree(B, other)
    doc = json.loads((other / "results.json").read_text())
    doc["metadata"]["cpu_model"] = "Some Other CPU"
    doc["metadata"]["cpu_count"] = 64
    (other / "results.json").write_text(json.dumps(doc))
    return other


def test_runs_from_different_machines_are_refused_unless_forced(tmp_path: Path) -> None:
    other = _other_machine(tmp_path)
    with pytest.raises(BenchError) as info:
        diff_runs(A, other)
    message = str(info.value)
    assert "different machines" in message and "cpu_model" in message and "cpu_count" in message
    assert "--force" in message and "\n" not in message
    found = diff_runs(A, other, force=True)
    rows, diffs = found.rows, found.machine_differences
    assert rows and any("cpu_model" in d for d in diffs)
    result = CliRunner().invoke(app, ["compare", str(A), str(other), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "different machines" in result.stderr
    assert not (tmp_path / "x").exists(), "nothing is written when the comparison is refused"


def test_runs_without_common_measurements_are_an_error(tmp_path: Path) -> None:
    other = tmp_path / "renamed"
    shutil.copytree(B, other)
    doc = json.loads((other / "results.json").read_text())
    for m in doc["measurements"]:
        m["users"] = 999
    (other / "results.json").write_text(json.dumps(doc))
    with pytest.raises(BenchError, match="no measurement in common"):
        diff_runs(A, other)


def test_zero_rps_an_incomplete_run_and_an_out_file(tmp_path: Path) -> None:
    """A measurement with no success, a run that did not complete, --out at a file: no
    traceback, no empty folder, and the note says the figures may be partial."""
    b = tmp_path / "b"
    shutil.copytree(A, b)
    for path in (b / "samples").glob("pitfalls--pitfall-sleep--*.csv"):
        head, *rows = path.read_text().splitlines()
        path.write_text("\n".join([head, *(r.rsplit(",", 3)[0] + ",500,0,HTTP 500" for r in rows)]))
    doc = json.loads((b / "results.json").read_text())
    doc.update(status="incomplete", note="interrupted (Ctrl-C)")
    (b / "results.json").write_text(json.dumps(doc))
    found = diff_runs(A, b)
    zero = next(r for r in found.rows if r.endpoint == "pitfall sleep")
    assert zero.verdict == "B served no successful request"
    assert found.notes == ("B (20231114-221320-small) is incomplete: interrupted (Ctrl-C)",)
    md_path, _ = diff_pages.write(found, tmp_path / "pages")
    assert "**Note:** B (20231114-221320-small) is incomplete" in md_path.read_text()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(BenchError, match="is a file"):
        diff_pages.write(found, a_file)


# --- the regression gate: --fail-on-regression ------------------------------------------------


@pytest.mark.parametrize(("text", "share"), [("5%", 0.05), ("0.05", 0.05), (" 12.5 % ", 0.125)])
def test_a_threshold_is_a_percentage_or_a_share(text: str, share: float) -> None:
    assert parse_threshold(text) == pytest.approx(share)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("abc", ["expected a share like 5% or 0.05", "'abc'"]),
        ("-5%", ["expected a share"]),
        ("5", ["'5' reads as 500%", "5% or 0.05"]),
        ("100%", ["below 100 %"]),
    ],
)
def test_a_malformed_threshold_is_exit_2_before_any_run_is_read(
    tmp_path: Path, text: str, words: list[str]
) -> None:
    result = CliRunner().invoke(
        app,
        ["compare", str(tmp_path / "absent-a"), str(B), "--fail-on-regression", text],
    )
    assert result.exit_code == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert line.startswith("error: Invalid value for --fail-on-regression: ")
    assert "\n" not in line and line.endswith("(see: bench compare --help)")
    for word in words:
        assert word in line


def test_each_row_is_marked_regression_improvement_or_noise() -> None:
    diff = diff_runs(A, B, threshold=0.05)
    marks = {r.endpoint: r.gate(0.05) for r in diff.rows}
    assert marks == {
        "sync sleep": "regression",  # 0.50×, significant
        "async sleep": "improvement",  # 2.00×, significant
        "pitfall sleep": "within noise",
        "fixed sleep": "within noise",
    }
    assert [r.endpoint for r in diff.regressions] == ["sync sleep"]
    # a significant change smaller than the threshold is tolerated, and said so
    assert next(r for r in diff.rows if r.endpoint == "sync sleep").gate(0.6) == "within 60 %"
    assert diff_runs(A, B).regressions == [], "no threshold: nothing is a regression"


def test_a_significant_regression_exits_1_with_everything_written(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["compare", str(A), str(B), "--out", str(tmp_path), "--fail-on-regression", "5%"]
    )
    assert result.exit_code == 1, result.output
    assert result.stderr == ""
    table = result.stdout.splitlines()
    assert table[0].split()[-1] == "gate"
    assert next(line for line in table if "sync sleep" in line).rstrip().endswith("regression")
    assert next(line for line in table if "async sleep" in line).rstrip().endswith("improvement")
    assert table[-1] == (
        "regressions: 1 of 4 measurements slower than A by more than 5 % (significant): "
        "sleep / sync sleep @ 10 users (0.50× [0.48, 0.52])"
    )
    md = (tmp_path / "compare.md").read_text()
    assert "**Regression gate** (--fail-on-regression 5 %): 1 of 4 measurements" in md
    assert "| B is 2.01× slower (±0.02) | regression |" in md
    assert "| no significant difference (p=1) | within noise |" in md
    html = (tmp_path / "compare.html").read_text()
    assert html.count('<tr class="regression">') == 1 and '<th class="l">gate</th>' in html


def test_a_run_against_itself_passes_the_gate(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["compare", str(A), str(A), "--out", str(tmp_path), "--fail-on-regression", "0.05"]
    )
    assert result.exit_code == 0, result.output
    assert "regressions: none of 4 measurements is slower than A by more than 5 %" in result.stdout
    assert result.stdout.count("within noise") == 4


def test_without_the_option_the_output_is_unchanged(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["compare", str(A), str(B), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "gate" not in result.stdout and "regression" not in result.stdout
    assert (tmp_path / "compare.md").read_text() == (FIXTURES / "compare-small.md").read_text()


def test_two_runs_that_differ_in_their_server_shape_say_so(tmp_path: Path) -> None:
    """``bench compare`` of a run with 1 worker and one with 2: the table compares them, and
    the pages and the terminal say which scenario was served how."""
    from tests.harness.runs import edited_copy

    def two_workers(doc: dict[str, object]) -> None:
        for record in doc["scenarios"]:  # type: ignore[attr-defined]
            if record["name"] == "sleep":
                record["server"] = {"label": "uvicorn, 2 workers, loop auto (uvloop)", "workers": 2}

    b = edited_copy(tmp_path / "b", two_workers)
    diff = diff_runs(FIXTURES / "run-small", b)
    (line,) = diff.served
    assert line.startswith("sleep: A served by uvicorn, 1 worker (before server shapes")
    assert line.endswith("B by uvicorn, 2 workers, loop auto (uvloop)")
    assert f"**Served differently:** {line}" in diff_pages.markdown(diff)
    assert "Served differently" in diff_pages.html(diff)
    a = FIXTURES / "run-small"
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c")])
    assert result.exit_code == 0 and "served differently: sleep: A served by" in result.output
    assert diff_runs(a, a).served == ()
