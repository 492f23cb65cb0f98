"""Build a run's report — PNGs, ``index.html`` and ``summary.md`` — from its folder alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.analysis.analyze import Analysis, analyze
from harness.report import charts, markdown, page


@dataclass(frozen=True)
class Built:
    index: Path
    summary: Path
    analysis: Analysis


def build(run_dir: Path) -> Built:
    """Analyse the run once, draw its charts, write its pages; return them with the analysis."""
    analysis = analyze(run_dir)
    drawn = charts.draw_all(analysis)
    return Built(page.render(analysis, drawn), markdown.write(analysis), analysis)
