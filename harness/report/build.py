"""Build a run's report — PNGs, ``index.html``, ``summary.md`` and ``summary.json`` — from its
folder alone."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.analysis.analyze import Analysis, interpret, tabulate
from harness.report import drawing, markdown, page, summary_json


@dataclass(frozen=True)
class Built:
    index: Path
    summary: Path
    analysis: Analysis
    data: Path  # summary.json


def build(run_dir: Path) -> Built:
    """Analyse the run once, draw its charts, write its pages; return them with the analysis.

    The numbers come first (each samples file read once); every chart's data is gathered from
    them here, and the PNGs are drawn by forked processes — one per CPU, never more than there
    are charts, none with one CPU or one chart — while this process works out the words
    (comparisons and their statistics, claims, warnings). A pool's processes start with its
    first chart, so one made after the numbers costs nothing more than one made before."""
    analysis = tabulate(run_dir)
    jobs = drawing.jobs_for(analysis)
    # the CPUs it may use; the CPUs it has where the OS cannot say (macOS)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with drawing.Drawer(min(len(jobs), cpus or 1)) as drawer:
        drawer.submit(jobs)
        interpret(analysis)
        drawn = drawer.files()
    index = page.render(analysis, drawn)
    return Built(index, markdown.write(analysis), analysis, summary_json.write(analysis))
