"""`bench report`: a run rebuilt from its files, or one export of it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import console, out


def report_command(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN_DIR", help="a run folder, e.g. reports/latest")
    ],
    form: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="html (the whole report, into the run folder) or an export to print: "
            "md, json (summary.json), csv, github-benchmark (RPS), "
            "github-benchmark-latency (p99)",
        ),
    ] = "html",
    out_file: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="write the export to FILE instead (not html)"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print summary.json: the same as --format json")
    ] = False,
) -> int:
    """Rebuild a run's PNGs, index.html, summary.md and summary.json from its files alone; or,
    with --format or --json, print one export of it (no chart is drawn). The run's saved checks
    are judged again: exit 1 if one fails (0 pass, 2 bad input)."""
    from harness.analysis import gate
    from harness.files import write_atomic
    from harness.report import terminal
    from harness.report.build import build
    from harness.report.exports import choose_format, export

    form = choose_format(form, as_json, out_file)
    if form == "html":
        built = build(run_dir)
        verdicts = built.analysis.checks
        if verdicts:
            out.print(terminal.checks_table(verdicts))
            out.print(terminal.checks_line(verdicts), soft_wrap=True)
        out.print(f"report: {built.index}", soft_wrap=True)
        return gate.exit_code(verdicts)
    exported = export(run_dir, form)
    if out_file is None:
        sys.stdout.write(exported.text)  # plain: no wrapping, no colour, so scripts can parse it
        sys.stdout.flush()
    else:
        out.print(f"{form}: {write_atomic(out_file, exported.text)}", soft_wrap=True, markup=False)
    if exported.checks:  # on stderr: stdout stays the export alone
        console.print(terminal.checks_line(exported.checks), soft_wrap=True, markup=False)
    return gate.exit_code(exported.checks)
