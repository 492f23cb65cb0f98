"""The run's pages: one self-contained ``index.html`` (Jinja2, PNGs beside it, nothing from the
network) and ``summary.md`` for pasting into a pull request.

Reads only what ``harness.report`` computed from the run's files.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from harness import charts
from harness.results import Run

if TYPE_CHECKING:
    from harness.report import Report

TEMPLATES = Path(__file__).resolve().parent / "templates"
CV_LIMIT = 0.10
MIN_REQUESTS = 100
MIN_BINS = 5


def _fmt(template: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return template.format(value)


def inline_code(text: str) -> Markup:
    """Escape, then show `backticked` words as code (the claims are written that way)."""
    escaped = str(escape(text))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined)  # fmt: skip
    env.filters["code"] = inline_code
    env.globals.update(
        ms=lambda v: _fmt("{:,.1f}", v),
        pct=lambda v: _fmt("{:.0%}", v),
        num=lambda v: _fmt("{:,.0f}", v),
        rps=lambda v: _fmt("{:,.1f}", v),
        ratio=lambda v: _fmt("{:.2f}", v),
    )
    return env


def warnings_for(run: Run, table: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Stability warnings that say what to do (hyperfine/pyperf style)."""
    out = []
    for row in table.itertuples():
        where = f"{row.scenario} / {row.endpoint} @ {row.users} users"
        if row.errors:
            out.append(f"{where}: {row.errors} errors ({row.error_rate:.1%}), {row.timeouts} "
                       "timeouts — throughput counts successes only; see the table")  # fmt: skip
        if row.loadgen_saturated:
            out.append(f"{where}: the load generator used {row.loadgen_cpu_share:.0%} of its CPU "
                       "— it may be the bottleneck; lower --users or check with wrk")  # fmt: skip
        if row.repeats > 1 and row.rps_cv > CV_LIMIT:
            out.append(f"{where}: repeats disagree (CV {row.rps_cv:.0%} > 10%) — use --repeat 5 "
                       "or a longer --duration, and keep the machine idle")  # fmt: skip
        if row.requests < MIN_REQUESTS or getattr(row, "bins", MIN_BINS) < MIN_BINS:
            out.append(f"{where}: only {row.requests} requests "
                       f"({getattr(row, 'bins', '?')} throughput bins) — too few for stable "
                       "numbers; use a longer --duration")  # fmt: skip
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
        parts = [f"{r.endpoint} {r.rps:,.0f} RPS (p99 {_fmt('{:,.0f}', r.p99_ms)} ms)"
                 for r in top.itertuples()]  # fmt: skip
        lead = ""
        if len(top) > 1 and top.iloc[-1]["rps"] > 0:
            lead = f" — {best['endpoint']} is {best['rps'] / top.iloc[-1]['rps']:.2f}× the slowest"
        lines.append(f"{scenario} at {int(best['users'])} users: {', '.join(parts)}{lead}")
    return lines


def biggest(comparisons: list[dict[str, Any]], count: int = 5) -> list[dict[str, Any]]:
    significant = [c for c in comparisons if "no significant" not in c["verdict"]
                   and math.isfinite(c["ratio"]) and c["ratio"] > 0]  # fmt: skip
    return sorted(significant, key=lambda c: -abs(math.log(c["ratio"])))[:count]


def sentences(table: pd.DataFrame, scenario: str) -> list[str]:
    """One plain sentence per endpoint, at its highest users level."""
    rows = table[table["scenario"] == scenario]
    out = []
    for label in dict.fromkeys(rows["endpoint"]):
        mine = rows[rows["endpoint"] == label].sort_values("users")
        out.append(f"{mine.iloc[-1]['sentence']} (at {int(mine.iloc[-1]['users'])} users)")
    return out


def _scenarios(report: Report) -> list[dict[str, Any]]:
    run, table, summary = report.run, report.table, report.summary
    scenarios = []
    for record in run.scenarios:
        name = record["name"]
        rows = table[table["scenario"] == name] if len(table) else table
        app = record.get("app", {})
        failed = (summary[(summary["scenario"] == name) & (summary["status"] != "ok")]
                  if len(summary) else summary)  # fmt: skip
        scenarios.append({
            "name": name,
            "description": record.get("description", ""),
            "endpoints": record.get("endpoints", []),
            "charts": report.charts.get(name, []),
            "rows": list(rows.itertuples()),
            "sentences": sentences(table, name) if len(rows) else [],
            "comparisons": [c for c in report.comparisons if c["scenario"] == name],
            "colours": charts.palette(rows) if len(rows) else {},
            "settings": {**app.get("settings", {}),
                         "threadpool_tokens": app.get("threadpool_tokens")},
            "extra": app.get("extra", {}),
            "dependencies": record.get("dependencies", {}),
            "failed": [{"endpoint": f.endpoint, "users": f.users, "error": _error_of(run, f.id)}
                       for f in failed.itertuples()],
        })  # fmt: skip
    return scenarios


def render(run_dir: Path, report: Report) -> Path:
    table = report.table
    saturated = bool(len(table) and table["loadgen_saturated"].any())
    html = (
        environment()
        .get_template("report.html.j2")
        .render(
            run=report.run,
            meta=report.run.metadata,
            scenarios=_scenarios(report),
            headlines=headlines_for(table) if len(table) else [],
            warnings=report.warnings,
            findings=report.findings,
            claims=report.claims,
            biggest=biggest(report.comparisons),
            saturated=saturated,
        )
    )
    target = run_dir / "index.html"
    tmp = run_dir / ".index.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target


def markdown(report: Report) -> str:
    """``summary.md``: the verdicts and the numbers, ready for a pull request."""
    run, table = report.run, report.table
    meta = run.metadata
    pk = meta.get("packages", {})
    lines = [
        f"## sync vs async — run `{run.run_id}` ({run.status})",
        "",
        f"{meta.get('cpu_model')} · {meta.get('cpu_count')} cores · Python {meta.get('python')} · "
        f"fastapi {pk.get('fastapi')} · uvicorn {pk.get('uvicorn')} · "
        f"{meta.get('pinning', {}).get('note', '')}",
        "",
        "| claim | verdict | evidence |",
        "|---|---|---|",
    ]
    lines += [f"| {c.claim} | **{c.verdict}** | {c.evidence} |" for c in report.claims]
    lines += [
        "",
        "| scenario | endpoint | users | RPS | 95% CI | predicted | measured/predicted "
        "| p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.scenario} | {r.endpoint} | {r.users} | {r.rps:,.1f} | "
            f"{_fmt('{:,.0f}', r.rps_ci_low)}–{_fmt('{:,.0f}', r.rps_ci_high)} | "
            f"{_fmt('{:,.0f}', r.predicted_rps)} ({r.binding}) | {_fmt('{:.0%}', r.ratio)} | "
            f"{_fmt('{:,.1f}', r.p50_ms)} | {_fmt('{:,.1f}', r.p99_ms)} | {r.errors} |"
        )
    if report.comparisons:
        lines += [
            "",
            "**Comparisons** (throughput; batch means of ≤ 1 s bins; bootstrap 95% CI; "
            "Mann-Whitney U):",
            "",
        ]
        lines += [f"- {c['scenario']} @ {c['users']} users: {c['verdict']}"
                  for c in report.comparisons]  # fmt: skip
    if report.findings:
        lines += ["", "**Findings** (measured/predicted outside 0.8–1.1):", ""]
        lines += [f"- {f}" for f in report.findings]
    if report.warnings:
        lines += ["", "**Warnings:**", ""] + [f"- {w}" for w in report.warnings]
    return "\n".join(lines) + "\n"


def _error_of(run: Run, measurement_id: str) -> str:
    return next((m.error for m in run.measurements if m.id == measurement_id), "")
