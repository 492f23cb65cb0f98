"""The run's page: one self-contained ``index.html`` (Jinja2, PNGs beside it, nothing from the
network), rendered from an ``Analysis`` and the chart files drawn for it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import UndefinedError

from harness.analysis import arrivals, disturbance, shapes, tails
from harness.analysis.analyze import Analysis
from harness.analysis.formatting import fmt
from harness.errors import BenchError
from harness.files import write_atomic
from harness.report.colours import palette
from harness.report.templating import environment
from harness.results import RESULTS_FILE, Run


def _scenarios(analysis: Analysis, charts: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    run, table, summary = analysis.run, analysis.table, analysis.summary
    scenarios = []
    for record in run.scenarios:
        name = record["name"]
        rows = table[table["scenario"] == name] if len(table) else table
        app = record.get("app", {})
        failed = (
            summary[(summary["scenario"] == name) & (summary["status"] == "failed")]
            if len(summary)
            else summary
        )
        scenarios.append(
            {
                "name": name,
                "description": record.get("description", ""),
                "endpoints": record.get("endpoints", []),
                "charts": charts.get(name, []),
                "rows": [r for r in rows.itertuples() if not arrivals.is_open(r)],
                "open_rows": _open_rows(rows),
                "tails": tails.recorded(rows),  # in flight at the end, per-user completions
                "sentences": analysis.sentences(name),
                "comparisons": [c for c in analysis.comparisons if c["scenario"] == name],
                "colours": palette(rows) if len(rows) else {},
                "settings": {
                    **app.get("settings", {}),
                    "threadpool_tokens": app.get("threadpool_tokens"),
                },
                "extra": app.get("extra", {}),
                "dependencies": record.get("dependencies", {}),
                "server": record.get("server", {}).get("label", ""),
                "blocking": [
                    b for b in analysis.blocking if b.measurement.scenario == name and b.recorded
                ],
                "failed": [
                    {"endpoint": f.endpoint, "users": f.users, "error": _error_of(run, f.id)}
                    for f in failed.itertuples()
                ],
            }
        )
    return scenarios


def _open_rows(rows: Any) -> list[dict[str, Any]]:
    """The open model's rows of a scenario, as the page's cells."""
    return [
        {
            "endpoint": r.endpoint,
            "offered": f"{r.rate:,g}",
            "achieved": disturbance.rps_cell(r.rps, r.disturbed),
            "knee": fmt("{:,.0f}", r.knee_rps),
            "p50": arrivals.percentile_cell(r, r.p50_ms),
            "p99": arrivals.percentile_cell(r, r.p99_ms),
            "service_p50": arrivals.ms(r.service_p50_ms),
            "service_p99": arrivals.ms(r.service_p99_ms),
            "late": int(r.late),
            "dropped": int(r.dropped),
            "errors": r.errors,
            "state": arrivals.state(r),
            "overloaded": bool(r.overloaded),
        }
        for r in arrivals.open_rows(rows).itertuples()
    ]


def render(analysis: Analysis, charts: Mapping[str, list[str]]) -> Path:
    """Write ``index.html`` into the run folder (atomically); return its path."""
    try:
        html = _page(analysis, charts)
    except UndefinedError as exc:  # a hand-edited or truncated results.json
        where = analysis.run_dir / RESULTS_FILE
        raise BenchError(f"{where}: incomplete results, cannot render the page ({exc})") from None
    return write_atomic(analysis.run_dir / "index.html", html)


def _page(analysis: Analysis, charts: Mapping[str, list[str]]) -> str:
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            run=analysis.run,
            meta=analysis.run.metadata,
            scenarios=_scenarios(analysis, charts),
            headlines=analysis.headlines,
            warnings=analysis.warnings,
            findings=analysis.findings,
            claims=analysis.claims,
            biggest=analysis.biggest,
            saturated=analysis.saturated,
            mixes=analysis.mixes,
            shapes=shapes.lines(analysis.shapes),
            balance=analysis.balance,
            idle=analysis.idle,
            checks=analysis.checks,
            disturbed=disturbance.lines(analysis.disturbed, analysis.run.measurements),
            disturbed_mark=disturbance.MARK,
        )
    )


def _error_of(run: Run, measurement_id: str) -> str:
    return next((m.error for m in run.measurements if m.id == measurement_id), "")
