"""One self-contained HTML page per run (Jinja2); the PNGs sit beside it, nothing from the network.

Reads only the run's files (``results.json``, samples, metrics) through ``analysis``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from harness import charts
from harness.results import Run

TEMPLATES = Path(__file__).resolve().parent / "templates"
CV_LIMIT = 0.10


def _fmt(template: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return template.format(value)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    env.globals.update(
        ms=lambda v: _fmt("{:,.1f}", v),
        pct=lambda v: _fmt("{:.0%}", v),
        num=lambda v: _fmt("{:,.0f}", v),
    )
    return env


def warnings_for(run: Run, table: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Stability warnings that say what to do."""
    out = []
    for row in table.itertuples():
        where = f"{row.scenario} / {row.endpoint} @ {row.users} users"
        if row.errors:
            out.append(
                f"{where}: {row.errors} errors ({row.error_rate:.1%}), {row.timeouts} "
                "timeouts — see the table; throughput counts successes only"
            )
        if row.loadgen_saturated:
            out.append(
                f"{where}: the load generator used {row.loadgen_cpu_share:.0%} of its CPU "
                "— it may be the bottleneck; lower --users or compare with wrk"
            )
        if row.repeats > 1 and row.rps_cv > CV_LIMIT:
            out.append(
                f"{where}: repeats disagree (CV {row.rps_cv:.0%}) — use --repeat 5 or a "
                "longer --duration, and keep the machine idle"
            )
        if row.requests < 100:
            out.append(
                f"{where}: only {row.requests} requests in the window — too few for "
                "stable percentiles; use a longer --duration"
            )
    failed = summary[summary["status"] != "ok"] if len(summary) else summary
    for row in failed.itertuples():
        out.append(f"{row.scenario} / {row.endpoint} @ {row.users} users: measurement failed")
    return out


def headlines_for(table: pd.DataFrame) -> list[str]:
    """One line per scenario at its highest users level: who leads, by how much."""
    lines = []
    for scenario in dict.fromkeys(table["scenario"]):
        data = table[table["scenario"] == scenario]
        top = data[data["users"] == data["users"].max()].sort_values("rps", ascending=False)
        if top.empty:
            continue
        best = top.iloc[0]
        parts = [
            f"{r.endpoint} {r.rps:,.0f} RPS (p99 {_fmt('{:,.0f}', r.p99_ms)} ms)"
            for r in top.itertuples()
        ]
        lead = ""
        if len(top) > 1 and top.iloc[-1]["rps"] > 0:
            lead = f" — {best['endpoint']} is {best['rps'] / top.iloc[-1]['rps']:.2f}× the slowest"
        lines.append(f"{scenario} at {int(best['users'])} users: {', '.join(parts)}{lead}")
    return lines


def render(
    run_dir: Path,
    run: Run,
    table: pd.DataFrame,
    summary: pd.DataFrame,
    chart_files: dict[str, list[str]],
) -> Path:
    scenarios = []
    for record in run.scenarios:
        name = record["name"]
        rows = table[table["scenario"] == name] if len(table) else table
        app = record.get("app", {})
        failed = (
            summary[(summary["scenario"] == name) & (summary["status"] != "ok")]
            if len(summary)
            else summary
        )
        scenarios.append(
            {
                "name": name,
                "description": record.get("description", ""),
                "endpoints": record.get("endpoints", []),
                "charts": chart_files.get(name, []),
                "rows": list(rows.itertuples()),
                "colours": charts.palette(rows) if len(rows) else {},
                "settings": {
                    **app.get("settings", {}),
                    "threadpool_tokens": app.get("threadpool_tokens"),
                },
                "extra": app.get("extra", {}),
                "failed": [
                    {"endpoint": f.endpoint, "users": f.users, "error": _error_of(run, f.id)}
                    for f in failed.itertuples()
                ],
            }
        )
    html = (
        environment()
        .get_template("report.html.j2")
        .render(
            run=run,
            meta=run.metadata,
            scenarios=scenarios,
            headlines=headlines_for(table) if len(table) else [],
            warnings=warnings_for(run, table, summary) if len(summary) else [],
        )
    )
    target = run_dir / "index.html"
    tmp = run_dir / ".index.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target


def _error_of(run: Run, measurement_id: str) -> str:
    return next((m.error for m in run.measurements if m.id == measurement_id), "")
