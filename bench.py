"""bench — measure sync vs async FastAPI endpoints, honestly, and explain the result.

Thin CLI: each command is a module of ``harness/cli`` that parses its options, calls
``harness`` and prints results and paths; here they are put on one Typer app, in the order
``bench --help`` lists them.
"""

from __future__ import annotations

from harness.cli import compare, listing, report, run, scan, serve, worker
from harness.cli.app import app

app.command("list")(listing.list_scenarios)
app.command("run", epilog=run.EPILOG)(run.run_command)
app.command("report")(report.report_command)
app.command("compare", epilog=compare.EPILOG)(compare.compare_command)
app.command("scan")(scan.scan_command)
app.command("serve")(serve.serve_command)
app.command("worker")(worker.worker_command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
