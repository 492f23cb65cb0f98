"""What the CLI prints: rich tables of scenarios, of a run's results and of two runs compared."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table

from harness.analysis.analyze import Analysis
from harness.analysis.run_diff import RunDiff
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
        description = item.title if isinstance(item, Scenario) else item.description
        view.add_row(name, kind, users, description)
    return view


def results_table(analysis: Analysis) -> Table:
    """``bench run``'s closing table: one row per scenario × endpoint × users level."""
    columns = ["scenario", "endpoint", "users", "RPS", "p50 ms", "p99 ms", "errors", "loadgen CPU"]
    view = _table(columns, set(columns) - {"scenario", "endpoint"})
    for r in analysis.table.itertuples():
        view.add_row(
            r.scenario,
            r.endpoint,
            str(r.users),
            f"{r.rps:,.1f}",
            f"{r.p50_ms:,.1f}",
            f"{r.p99_ms:,.1f}",
            str(r.errors),
            f"{r.loadgen_cpu_share:.0%}",
        )
    return view


def diff_table(diff: RunDiff) -> Table:
    """``bench compare``: B against A per measurement."""
    columns = ["scenario", "endpoint", "users", "A RPS", "B RPS", "B / A", "verdict"]
    view = _table(columns, {"users", "A RPS", "B RPS"})
    for r in diff.rows:
        view.add_row(
            r.scenario,
            r.endpoint,
            str(r.users),
            f"{r.a_rps:,.1f}",
            f"{r.b_rps:,.1f}",
            r.change,
            r.verdict,
        )
    return view
