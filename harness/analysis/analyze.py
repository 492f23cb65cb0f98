"""A run folder in, every number and sentence of its report out, computed once.

``analyze`` is the one entry point of the analysis wing: it reads the run's files (results,
samples, server metrics), and returns an ``Analysis`` — the per-measurement summary, the table
(median over repeats, 95 % CI, prediction, binding cap), the in-run comparisons, the claims,
findings, warnings and headlines. Renderers (``harness/report``) and the CLI read only this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import results
from harness.analysis import (
    arrivals,
    blocking,
    claims,
    disturbance,
    explain,
    gate,
    headlines,
    idle,
    mixes,
    run_warnings,
    shapes,
    stats,
    tails,
)
from harness.analysis.samples import bins_by_group, bins_by_rate
from harness.analysis.tables import aggregate, summarize

Bins = dict[tuple[str, str, int], np.ndarray]


@dataclass
class Analysis:
    """Everything the page, the Markdown summary and the terminal table show."""

    run_dir: Path
    run: results.Run
    summary: pd.DataFrame
    table: pd.DataFrame
    bins: Bins = field(default_factory=dict)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    claims: list[claims.Verdict] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    headlines: list[str] = field(default_factory=list)
    biggest: list[dict[str, Any]] = field(default_factory=list)
    mixes: list[mixes.Mixed] = field(default_factory=list)
    blocking: list[blocking.Blocking] = field(default_factory=list)
    checks: list[gate.Result] = field(default_factory=list)  # the run's checks, judged
    disturbed: list[disturbance.Disturbance] = field(default_factory=list)  # not clean numbers
    shapes: list[shapes.ShapeComparison] = field(default_factory=list)  # server shapes compared
    balance: list[str] = field(default_factory=list)  # several workers: each one's share
    idle: list[str] = field(default_factory=list)  # what idle WebSocket connections cost

    @property
    def saturated(self) -> bool:
        """Was the load generator saturated in any measurement?"""
        return bool(len(self.table) and self.table["loadgen_saturated"].any())

    def sentences(self, scenario: str) -> list[str]:
        closed = closed_model(self.table)
        rows = closed[closed["scenario"] == scenario] if len(closed) else closed
        found = headlines.sentences(closed, scenario) if len(rows) else []
        return found + arrivals.knee_sentences(self.table, scenario)


def with_intervals(
    table: pd.DataFrame,
    bins: Bins,
    open_bins: Mapping[tuple[str, str, float], np.ndarray] | None = None,
) -> pd.DataFrame:
    """``table`` plus the 95 % CI of each row's RPS and the number of bins behind it (the open
    model's rows from ``open_bins``, by offered rate)."""
    if not len(table):
        return table
    open_bins = open_bins or {}
    found = [
        open_bins.get((r.scenario, r.endpoint, r.rate), np.array([]))
        if getattr(r, "rate", 0.0)
        else bins.get((r.scenario, r.endpoint, r.users), np.array([]))
        for r in table.itertuples()
    ]
    intervals = [stats.mean_ci(x) for x in found]
    return table.assign(
        rps_ci_low=[i.low for i in intervals],
        rps_ci_high=[i.high for i in intervals],
        bins=[len(x) for x in found],
    )


def closed_model(table: pd.DataFrame) -> pd.DataFrame:
    """The rows measured by users levels; the open model's (a rate) are shown, not compared."""
    if not len(table) or "rate" not in table.columns:
        return table
    return table[table["rate"] == 0]


def analyze(run_dir: Path) -> Analysis:
    """Everything at once: ``tabulate`` then ``interpret``."""
    return interpret(tabulate(run_dir))


def tabulate(run_dir: Path) -> Analysis:
    """The numbers: per-measurement summary, the table with CIs and predictions, the bins.
    Enough to draw every chart; ``interpret`` adds the words."""
    run = results.load(run_dir)
    summary = summarize(run_dir, run)
    bins = bins_by_group(run_dir, run)
    table = with_intervals(aggregate(summary), bins, bins_by_rate(run_dir, run))
    table = explain.predictions(run, table)
    disturbed = disturbance.judge(run_dir, run, summary, table)
    table = disturbance.mark(table, summary, disturbed)
    return Analysis(
        run_dir=run_dir, run=run, summary=summary, table=table, bins=bins, disturbed=disturbed
    )


def interpret(found: Analysis) -> Analysis:
    """The words: comparisons with their statistics, claims, findings, warnings, headlines,
    and the verdicts on the run's checks."""
    run, summary, table, bins = found.run, found.summary, found.table, found.bins
    closed = closed_model(table)  # users levels: what comparisons, claims and headlines read
    if len(table):
        found.comparisons = explain.comparisons(closed, bins)
        found.findings = [explain.finding_text(r) for r in table.itertuples() if r.finding]
        found.headlines = headlines.headlines_for(closed) if len(closed) else []
        found.biggest = headlines.biggest(found.comparisons)
        found.mixes = mixes.mixes(run, closed)
        found.shapes = shapes.comparisons(run, closed, bins)
        found.balance = shapes.balance(found.run_dir, run)
        found.idle = idle.sentences(found.run_dir, run, closed)
    kept = [m for m in run.measurements if m.status != "superseded"]  # not a retried attempt
    found.blocking = blocking.blocking_by_measurement(found.run_dir, kept)
    found.claims = claims.check(run, closed, bins)
    found.warnings = run_warnings.warnings_for(run, table, summary) if len(summary) else []
    found.warnings += run_warnings.concurrency(found.run_dir, run)
    found.warnings += run_warnings.served(run)
    found.warnings += run_warnings.pinning(run)
    found.warnings += [f"{d.where}: disturbed — {d.text}" for d in found.disturbed]
    found.warnings += tails.sentences(table) if len(table) else []
    found.warnings += arrivals.sentences(table)
    found.checks = gate.judge(found, gate.from_run(run))
    return found
