"""What the CLI prints: rich tables of scenarios, of a run's results and of two runs compared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from harness.analysis import arrivals, disturbance, shapes, tails
from harness.analysis.analyze import Analysis
from harness.analysis.gate import Result
from harness.analysis.run_diff import REGRESSION, RunDiff
from scenarios import Scenario, Suite


def _table(columns: list[str], right: set[str]) -> Table:
    view = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        view.add_column(column, justify="right" if column in right else "left")
    return view


def scenarios_table(items: Mapping[str, Scenario | Suite]) -> Table:
    """``bench list``: name, kind, users levels, one-line description."""
    view = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("name", "kind", "users", "description"):
        view.add_column(column)
    for name, item in items.items():
        kind = type(item).__name__.lower()
        users = ",".join(map(str, item.users)) if item.users else "-"
        if isinstance(item, Scenario) and item.rates:
            users = "rate " + ",".join(f"{r:g}" for r in item.rates)
        description = item.title if isinstance(item, Scenario) else item.description
        if isinstance(item, Scenario) and item.matrix.varying:  # each combination is measured
            matrix = item.matrix.to_dict()
            each = "; ".join(f"{d} {', '.join(map(str, matrix[d]))}" for d in item.matrix.varying)
            description += f" (matrix: {each})"
        view.add_row(name, kind, users, description)
    return view


def _loadgen_cell(row: Any) -> str:
    """The generator's CPU share: "31%", or the worst worker's and each one's "31% (31% / 29%)"
    (Locust's distributed mode)."""
    workers = getattr(row, "loadgen_cpu_workers", "")
    share = f"{row.loadgen_cpu_share:.0%}"
    return f"{share} ({workers})" if isinstance(workers, str) and workers else share


def results_table(analysis: Analysis) -> Table:
    """``bench run``'s closing table: one row per scenario × endpoint × users level."""
    columns = ["scenario", "endpoint", "users", "RPS", "p50 ms", "p99 ms", "errors", "loadgen CPU"]
    recorded = tails.recorded(analysis.table)  # in flight at the end, per-user completions
    extra = ["in flight at end", "per user min/med/max"] if recorded else []
    view = _table(columns + extra, set(columns + extra) - {"scenario", "endpoint"})
    for r in analysis.table.itertuples():
        if arrivals.is_open(r):
            continue  # in ``open_table``
        cells = [
            r.scenario,
            r.endpoint,
            str(r.users),
            Text(disturbance.rps_cell(r.rps, r.disturbed), style="bold yellow")
            if r.disturbed
            else f"{r.rps:,.1f}",
            tails.mark(r.p50_ms, r.p50_censored),
            tails.mark(r.p99_ms, r.p99_censored),
            str(r.errors),
            _loadgen_cell(r),
        ]
        if recorded:
            cells += [tails.in_flight_cell(r), tails.per_user_cell(r)]
        view.add_row(*cells)
    return view


def results_tables(analysis: Analysis) -> list[Table]:
    """The closing tables: users levels (the closed model), then offered rates (the open)."""
    found = []
    if len(arrivals.open_rows(analysis.table)) < len(analysis.table) or not len(analysis.table):
        found.append(results_table(analysis))
    if (view := open_table(analysis)) is not None:
        found.append(view)
    return found


def open_table(analysis: Analysis) -> Table | None:
    """The open model's rows (an offered rate): offered vs achieved, latency from the intended
    send, service time, the schedule's late and dropped sends, steady or overloaded; None when
    the run has none."""
    rows = arrivals.open_rows(analysis.table)
    if not len(rows):
        return None
    columns = [
        "scenario",
        "endpoint",
        "offered",
        "achieved",
        "p50 ms",
        "p99 ms",
        "service p50",
        "service p99",
        "late",
        "dropped",
        "errors",
        "state",
    ]
    view = _table(columns, set(columns) - {"scenario", "endpoint", "state"})
    for r in rows.itertuples():
        achieved = f"{r.rps:,.1f}"
        view.add_row(
            r.scenario,
            r.endpoint,
            f"{r.rate:,g}",
            Text(disturbance.rps_cell(r.rps, r.disturbed), style="bold yellow")
            if r.disturbed
            else achieved,
            arrivals.percentile_cell(r, r.p50_ms),
            arrivals.percentile_cell(r, r.p99_ms),
            arrivals.ms(r.service_p50_ms),
            arrivals.ms(r.service_p99_ms),
            str(int(r.late)),
            str(int(r.dropped)),
            str(r.errors),
            Text(arrivals.state(r), style="bold yellow" if r.overloaded else ""),
        )
    return view


def shapes_note(analysis: Analysis) -> str:
    """Printed under the results table for a matrix: each server shape against the first; and
    what idle WebSocket connections cost."""
    found = shapes.lines(analysis.shapes)
    if analysis.idle:
        idle = ["idle WebSocket connections:"] + [f"  {x}" for x in analysis.idle]
        return "\n".join(idle + ([""] if found else [])) + _shapes(found)
    return _shapes(found)


def _shapes(found: list[str]) -> str:
    if not found:
        return ""
    return "\n".join(
        ["server shapes (each against the matrix's first):"] + [f"  {x}" for x in found]
    )


def disturbed_note(analysis: Analysis) -> str:
    """Printed under the results table: why its rows marked "⚠ disturbed" are, and the
    attempts measured again (--retry-disturbed); "" when every measurement was clean."""
    disturbed = disturbance.lines(analysis.disturbed, analysis.run.measurements)
    if not disturbed:
        return ""
    head = f"{disturbance.MARK}: not clean numbers; re-measure them with the machine idle:"
    return "\n".join([head] + [f"  {line}" for line in disturbed])


def diff_table(diff: RunDiff) -> Table:
    """``bench compare``: B against A per measurement (with --fail-on-regression, a gate mark)."""
    columns = ["scenario", "endpoint", "users", "A RPS", "B RPS", "B / A", "verdict"]
    gated = diff.threshold is not None
    view = _table(columns + ["gate"] * gated, {"users", "A RPS", "B RPS"})
    for r in diff.rows:
        cells: list[str | Text] = [
            Text(r.scenario),
            Text(r.endpoint),
            str(r.users),
            f"{r.a_rps:,.1f}",
            f"{r.b_rps:,.1f}",
            r.change,
            r.verdict,
        ]
        if diff.threshold is not None:
            mark = r.gate(diff.threshold)
            cells.append(Text(mark, style="bold red" if mark == REGRESSION else ""))
        view.add_row(*cells)
    return view


def checks_table(verdicts: Sequence[Result]) -> Table:
    """The run's checks: one row per check and place, pass or FAIL, measured vs threshold."""
    columns = ["check", "where", "measured", "threshold", "result", "why"]
    view = _table(columns, {"measured"})
    for v in verdicts:  # the user's own text: never read as rich markup
        result = Text("pass", style="green") if v.passed else Text("FAIL", style="bold red")
        view.add_row(Text(v.check), Text(v.where), v.measured, v.threshold, result, Text(v.why))
    return view


def checks_line(verdicts: Sequence[Result]) -> str:
    """ "checks: all 3 passed" or "checks: 1 of 3 failed"."""
    failed = sum(not v.passed for v in verdicts)
    if not failed:
        return f"checks: all {len(verdicts)} passed"
    return f"checks: {failed} of {len(verdicts)} failed"


def regressions_line(diff: RunDiff) -> str:
    """``bench compare --fail-on-regression``: the regressions, or that there is none."""
    threshold = diff.threshold or 0.0
    limit = f"slower than A by more than {threshold * 100:g} % (significant)"
    if not diff.regressions:
        return f"regressions: none of {len(diff.rows)} measurements is {limit}"
    found = "; ".join(
        f"{r.scenario} / {r.endpoint} @ {r.users} users ({r.change})" for r in diff.regressions
    )
    return f"regressions: {len(diff.regressions)} of {len(diff.rows)} measurements {limit}: {found}"
