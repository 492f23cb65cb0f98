"""Build a run's report (PNGs + index.html) from its folder alone."""

from __future__ import annotations

from pathlib import Path

from harness import analysis, charts, html, results


def build(run_dir: Path) -> Path:
    run = results.load(run_dir)
    summary = analysis.summarize(run_dir, run)
    table = analysis.aggregate(summary)
    chart_files = charts.draw_all(run_dir, run, table)
    return html.render(run_dir, run, table, summary, chart_files)
