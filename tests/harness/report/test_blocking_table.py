"""The "who blocked the event loop" table of the page and of summary.md, from known watchdog
totals written into a copy of the checked-in run (which itself has none: nothing is shown)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.report.build import build
from tests.harness.runs import edited_copy

PITFALL = "metrics/pitfalls--pitfall-sleep--u10--r0.json"  # window 40.0–42.0 s (2 s)
FIXED = "metrics/pitfalls--fixed-sleep--u10--r0.json"
SLEEP = "target_app/routes/sleep.py:42 sleep_pitfall"


def _blocked(held_s: float, gc_s: float) -> dict[str, Any]:
    frames = [
        {"frame": SLEEP, "line": "time.sleep(ms / 1000)", "context": "", "seconds": held_s},
        {"frame": "(no user code on the stack)", "line": "", "context": "", "seconds": gc_s},
    ]
    route = {"route": "GET /pitfall/sleep", "seconds": held_s + gc_s, "samples": 9}
    return {"threshold_ms": 20.0, "total_s": held_s + gc_s, "routes": [{**route, "frames": frames}]}


def _with_blocked(run_dir: Path, name: str, totals: list[dict[str, Any]]) -> None:
    """Give each snapshot of a measurement's series the watchdog's totals (cumulative)."""
    path = run_dir / name
    doc = json.loads(path.read_text())
    for snap, blocked in zip(doc["series"], totals, strict=True):
        snap["blocked"] = blocked
    path.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    run_dir = edited_copy(tmp_path_factory.mktemp("blocking"), lambda doc: None)
    held = [0.1, 0.5, 1.0, 1.4, 1.9]  # 5 snapshots; the last one in the window: 1.9 s of 2 s
    _with_blocked(run_dir, PITFALL, [_blocked(s, 0.1 * i) for i, s in enumerate(held)])
    empty = {"threshold_ms": 20.0, "total_s": 0.0, "routes": []}
    _with_blocked(
        run_dir, FIXED, [empty] * len(json.loads((run_dir / FIXED).read_text())["series"])
    )
    built = build(run_dir)
    return built.index.read_text(encoding="utf-8"), built.summary.read_text(encoding="utf-8")


def _cells(html: str) -> list[list[str]]:
    table = re.search(r'<table class="numbers blocking">(.*?)</table>', html, re.S)
    assert table is not None, "no blocking table"
    rows = re.findall(r"<tr><td.*?</tr>", table.group(1), re.S)
    return [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td.*?</td>", r, re.S)] for r in rows]


def test_the_page_names_the_route_its_share_and_its_line(report: tuple[str, str]) -> None:
    html, _ = report
    (row,) = _cells(html)
    measurement, route, seconds, share, frames = row
    assert (measurement, route) == ("pitfall sleep @ 10 users", "GET /pitfall/sleep")
    assert (seconds, share) == ("1.90", "95%")
    assert frames.startswith(f"{SLEEP}: time.sleep(ms / 1000) (1.90 s)")
    assert "no user code" not in frames  # a GC pause is not blamed on the route…
    assert "late with no user code on its stack" in html and "pitfall sleep @ 10: 0.40 s" in html


def test_a_measurement_that_never_blocked_is_named_clean(report: tuple[str, str]) -> None:
    html, _ = report
    clean = re.search(r"No user code blocked the event loop ≥ 20 ms: ([^<]*)", html)
    assert clean is not None and clean.group(1) == "fixed sleep @ 10."
    sleep_part = html.split('<h2 id="scenario-sleep">')[1].split('<h2 id="scenario-pitfalls">')[0]
    assert "blocked the event loop" not in sleep_part  # not recorded there: nothing said


def test_the_summary_has_one_line_per_blocker(report: tuple[str, str]) -> None:
    _, md = report
    lines = [line for line in md.splitlines() if "GET /pitfall/sleep" in line]
    assert lines == [
        "- pitfalls / pitfall sleep @ 10 users: `GET /pitfall/sleep` 1.90 s (95% of the window)"
        f" — `{SLEEP}`: `time.sleep(ms / 1000)`"
    ]
    assert md.count("**Who blocked the event loop**") == 1


def test_a_run_without_watchdog_data_shows_no_table(tmp_path: Path) -> None:
    built = build(edited_copy(tmp_path, lambda doc: None))
    assert "blocked the event loop" not in built.index.read_text(encoding="utf-8")
    assert "blocked the event loop" not in built.summary.read_text(encoding="utf-8")
