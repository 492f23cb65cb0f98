"""A run folder in, every number and sentence of its report out, computed once.

``analyze`` is the one entry point of the analysis wing: it reads the run's files (results,
samples, server metrics), and returns an ``Analysis`` — the per-measurement summary, the table
(median over repeats, 95 % CI, prediction, binding cap), the in-run comparisons, the claims,
findings, warnings and headlines. Renderers (``harness/report``) and the CLI read only this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import results
from harness.analysis import (
    blocking,
    claims,
    disturbance,
    explain,
    gate,
    headlines,
    mixes,
    run_warnings,
    stats,
    tails,
)
from harness.analysis.samples import bins_by_group
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

    @property
    def saturated(self) -> bool:
        """Was the load generator saturated in any measurement?"""
        return bool(len(self.table) and self.table["loadgen_saturated"].any())

    def sentences(self, scenario: str) -> list[str]:
        rows = self.table[self.table["scenario"] == scenario] if len(self.table) else self.table
        return headlines.sentences(self.table, scenario) if len(rows) else []


def with_intervals(table: pd.DataFrame, bins: Bins) -> pd.DataFrame:
    """``table`` plus the 95 % CI of each row's RPS and the number of bins behind it."""
    if not len(table):
        return table
    keys = [(r.scenario, r.endpoint, r.users) for r in table.itertuples()]
    intervals = [stats.mean_ci(bins.get(key, np.array([]))) for key in keys]
    return table.assign(
        rps_ci_low=[i.low for i in intervals],
        rps_ci_high=[i.high for i in intervals],
        bins=[len(bins.get(key, [])) for key in keys],
    )


def analyze(run_dir: Path) -> Analysis:
    """Everything at once: ``tabulate`` then ``interpret``."""
    return interpret(tabulate(run_dir))


def tabulate(run_dir: Path) -> Analysis:
    """The numbers: per-measurement summary, the table with CIs and predictions, the bins.
    Enough to draw every chart; ``interpret`` adds the words."""
    run = results.load(run_dir)
    summary = summarize(run_dir, run)
    bins = bins_by_group(run_dir, run)
    table = explain.predictions(run, with_intervals(aggregate(summary), bins))
    disturbed = disturbance.judge(run_dir, run, summary, table)
    table = disturbance.mark(table, summary, disturbed)
    return Analysis(
        run_dir=run_dir, run=run, summary=summary, table=table, bins=bins, disturbed=disturbed
    )


def interpret(found: Analysis) -> Analysis:
    """The words: comparisons with their statistics, claims, findings, warnings, headlines,
    and the verdicts on the run's checks."""
    run, summary, table, bins = found.run, found.summary, found.table, found.bins
    if len(table):
        found.comparisons = explain.comparisons(table, bins)
        found.findings = [explain.finding_text(r) for r in table.itertuples() if r.finding]
        found.headlines = headlines.headlines_for(table)
        found.biggest = headlines.biggest(found.comparisons)
        found.mixes = mixes.mixes(run, table)
    kept = [m for m in run.measurements if m.status != "superseded"]  # not a retried attempt
    found.blocking = blocking.blocking_by_measurement(found.run_dir, kept)
    found.claims = claims.check(run, table, bins)
    found.warnings = run_warnings.warnings_for(run, table, summary) if len(summary) else []
    found.warnings += run_warnings.concurrency(found.run_dir, run)
    found.warnings += run_warnings.served(run)
    found.warnings += [f"{d.where}: disturbed — {d.text}" for d in found.disturbed]
    found.warnings += tails.sentences(table) if len(table) else []
    found.checks = gate.judge(found, gate.from_run(run))
    return found
