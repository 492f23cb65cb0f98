"""Build a run's report — PNGs, index.html and summary.md — from its folder alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import analysis, charts, claims, explain, html, results, stats


@dataclass
class Report:
    """Everything the page and the Markdown summary show, computed once."""

    run: results.Run
    summary: pd.DataFrame
    table: pd.DataFrame
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    claims: list[claims.Verdict] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    charts: dict[str, list[str]] = field(default_factory=dict)


def compute(run_dir: Path) -> Report:
    run = results.load(run_dir)
    summary = analysis.summarize(run_dir, run)
    table = analysis.aggregate(summary)
    bins = analysis.bins_by_group(run_dir, run)
    if len(table):
        intervals = [stats.mean_ci(bins.get((r.scenario, r.endpoint, r.users), np.array([])))
                     for r in table.itertuples()]  # fmt: skip
        table = table.assign(rps_ci_low=[i.low for i in intervals],
                             rps_ci_high=[i.high for i in intervals],
                             bins=[len(bins.get((r.scenario, r.endpoint, r.users), []))
                                   for r in table.itertuples()])  # fmt: skip
    table = explain.predictions(run, table)
    report = Report(run=run, summary=summary, table=table)
    if len(table):
        report.comparisons = explain.comparisons(table, bins)
        report.findings = [explain.finding_text(r) for r in table.itertuples() if r.finding]
    report.claims = claims.check(run, table, bins)
    report.warnings = html.warnings_for(run, table, summary) if len(summary) else []
    return report


def build(run_dir: Path) -> Path:
    report = compute(run_dir)
    report.charts = charts.draw_all(run_dir, report.run, report.table)
    index = html.render(run_dir, report)
    (run_dir / "summary.md").write_text(html.markdown(report), encoding="utf-8")
    return index
