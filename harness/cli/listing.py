"""`bench list`: the scenarios and suites."""

from __future__ import annotations

from harness.cli.app import out


def list_scenarios() -> None:
    """List the scenarios and suites, with a one-line description each."""
    from harness.report import terminal
    from scenarios import available

    out.print(terminal.scenarios_table(available()))
