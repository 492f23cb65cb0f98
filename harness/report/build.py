"""Build a run's report — PNGs, ``index.html`` and ``summary.md`` — from its folder alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.analysis.analyze import Analysis, interpret, tabulate
from harness.report import drawing, markdown, page


@dataclass(frozen=True)
class Built:
    index: Path
    summary: Path
    analysis: Analysis


def build(run_dir: Path) -> Built:
    """Analyse the run once, draw its charts, write its pages; return them with the analysis.

    The chart workers start first and draw as soon as the numbers are known, while this process
    works out the words (comparisons and their statistics, claims, warnings)."""
    with drawing.Drawer() as drawer:
        analysis = tabulate(run_dir)
        drawer.submit(drawing.jobs_for(analysis))
        interpret(analysis)
        drawn = drawer.files()
    return Built(page.render(analysis, drawn), markdown.write(analysis), analysis)
