"""The rendered report of the checked-in run: charts, tables, warnings, flags, summary.md."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from harness.analysis.analyze import analyze
from harness.report.build import build
from tests.harness.runs import FIXTURE, edited_copy


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run_dir = tmp_path_factory.mktemp("report") / "run-small"
    shutil.copytree(FIXTURE, run_dir)  # never write into tests/fixtures
    index = build(run_dir).index
    assert index == run_dir / "index.html"
    return run_dir, index.read_text(encoding="utf-8")


def table_rows(html: str) -> list[list[str]]:
    rows = re.findall(r'<tr><td class="l">.*?</tr>', html, re.S)
    return [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td.*?</td>", r, re.S)] for r in rows]


def test_report_draws_every_chart(built: tuple[Path, str]) -> None:
    run_dir, html = built
    for scenario in ("sleep", "pitfalls"):
        for kind in ("rps", "latency", "timeline"):
            png = run_dir / f"{kind}-{scenario}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert png.stat().st_size > 5_000
            assert f'<img src="{png.name}"' in html
    assert not (FIXTURE / "index.html").exists()
    assert not list(FIXTURE.glob("*.png"))


def test_report_tables_hold_each_scenarios_rows(built: tuple[Path, str]) -> None:
    _, html = built
    sleep_part, pitfalls_part = html.split('<h2 id="scenario-sleep">')[1].split(
        '<h2 id="scenario-pitfalls">'
    )
    sleep_rows = table_rows(sleep_part)
    pitfall_rows = table_rows(pitfalls_part)
    assert [r[0] for r in sleep_rows] == ["sync sleep", "async sleep"]
    assert [r[0] for r in pitfall_rows] == ["pitfall sleep", "fixed sleep"]
    # endpoint, users, repeats, RPS, 95% CI, CV, predicted, meas./pred., cap,
    # p50, p90, p99, max, requests, errors, timeouts, loop lag, threads busy, app CPU, loadgen CPU
    row = sleep_rows[0]
    assert row[:4] + [row[5]] == ["sync sleep", "10", "2", "95.0", "7%"]
    assert row[9:16] == ["109.4", "113.3", "113.8", "118.0", "383", "3", "1"]
    low, high = (float(x.replace(",", "")) for x in row[4].split("–"))
    assert low <= 95.0 <= high, "the 95% CI brackets the mean of the bins"
    assert sleep_rows[1][:4] + [sleep_rows[1][5]] == ["async sleep", "10", "2", "90.0", "16%"]
    assert pitfall_rows[0][:4] == ["pitfall sleep", "10", "1", "10.0"]
    assert pitfall_rows[0][16].endswith(" / 100.0")  # loop lag mean / max ms
    assert pitfall_rows[1][:4] == ["fixed sleep", "10", "1", "100.0"]
    assert pitfall_rows[1][17] == "10"  # threads busy max


def test_report_warns_about_errors_spread_and_small_samples(built: tuple[Path, str]) -> None:
    _, html = built
    warnings = re.search(r"<b>Warnings</b><ul[^>]*>(.*?)</ul>", html, re.S)
    assert warnings is not None
    items = re.findall(r"<li>(.*?)</li>", warnings.group(1), re.S)
    assert len(items) == 3
    assert items[0].startswith("sleep / sync sleep @ 10 users: 3 errors (0.8%), 1 timeouts")
    assert items[1].startswith("sleep / async sleep @ 10 users: repeats disagree (CV 16% &gt; 10%)")
    assert items[2].startswith("pitfalls / pitfall sleep @ 10 users: only 20 requests")
    assert "No stability warning" not in html


def test_report_is_self_contained(built: tuple[Path, str]) -> None:
    _, html = built
    links = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert links and all("://" not in link and not link.startswith("//") for link in links)
    assert "20231114-221320-small" in html


def test_a_saturated_load_generator_flags_the_run(tmp_path: Path) -> None:
    def saturate(doc: dict) -> None:  # type: ignore[type-arg]
        doc["measurements"][0]["loadgen_cpu_share"] = 0.97

    run_dir = edited_copy(tmp_path, saturate)
    computed = analyze(run_dir)
    assert any("the load generator used 97% of its CPU" in w for w in computed.warnings)
    html = build(run_dir).index.read_text()
    assert "Load generator saturated" in html
    assert (
        "Load generator saturated"
        not in build(edited_copy(tmp_path / "b", lambda d: None)).index.read_text()
    )


def test_summary_markdown_matches_the_golden_file(tmp_path: Path) -> None:
    run_dir = edited_copy(tmp_path, lambda d: None)
    built = build(run_dir)
    golden = FIXTURE.parent / "summary-small.md"
    assert built.summary.read_text(encoding="utf-8") == golden.read_text(encoding="utf-8")


def test_summary_markdown_is_written_for_pull_requests(tmp_path: Path) -> None:
    run_dir = edited_copy(tmp_path, lambda d: None)
    build(run_dir)
    md = (run_dir / "summary.md").read_text()
    assert md.startswith("## sync vs async — run `20231114-221320-small` (complete)")
    assert "| `time.sleep` in `async def` blocks every request | **true** |" in md
    assert "| sleep | sync sleep | 10 | 95.0 |" in md
