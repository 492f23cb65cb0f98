"""`bench compare`: two runs, measurement by measurement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import out
from harness.errors import BenchError

EPILOG = (
    "Exit codes: 0 compared (and no regression with --fail-on-regression); 1 a "
    "regression; 2 bad input or runs from different machines without --force."
)


def compare_command(
    run_a: Annotated[Path, typer.Argument(metavar="RUN_A", help="the reference run folder (A)")],
    run_b: Annotated[Path, typer.Argument(metavar="RUN_B", help="the run to judge against it (B)")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="folder for compare.md and compare.html")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="compare even when the runs come from different machines")
    ] = False,
    fail_on_regression: Annotated[
        str | None,
        typer.Option(
            metavar="SHARE",
            help="exit 1 when a measurement of B is slower than A by more than SHARE (5% or "
            "0.05) and the difference is significant; marks each row",
        ),
    ] = None,
) -> int:
    """Compare two runs measurement by measurement: B / A, its uncertainty and a verdict."""
    from harness.analysis.run_diff import diff_runs, parse_threshold
    from harness.errors import CHECK_FAILED
    from harness.report import diff_pages, terminal

    try:  # before any run is read: bad input is exit 2
        threshold = None if fail_on_regression is None else parse_threshold(fail_on_regression)
    except ValueError as exc:
        raise BenchError(
            f"Invalid value for --fail-on-regression: {exc} (see: bench compare --help)"
        ) from None
    a, b = run_a.resolve(), run_b.resolve()
    diff = diff_runs(run_a, run_b, force, threshold)
    md_path, html_path = diff_pages.write(
        diff, out_dir or b.parent / f"compare-{a.name}-vs-{b.name}"
    )
    out.print(terminal.diff_table(diff))
    for note in diff.notes:
        out.print(f"note: {note}", soft_wrap=True)
    for line in diff.served:
        out.print(f"served differently: {line}", soft_wrap=True, markup=False)
    out.print(f"markdown: {md_path}", soft_wrap=True)
    out.print(f"html: {html_path}", soft_wrap=True)
    if threshold is not None:
        out.print(terminal.regressions_line(diff), soft_wrap=True, markup=False)
    return CHECK_FAILED if diff.regressions else 0
