"""The pages of ``bench compare``: ``compare.md`` and ``compare.html`` for two runs."""

from __future__ import annotations

from pathlib import Path

from harness.analysis.run_diff import RunDiff
from harness.errors import BenchError
from harness.files import write_atomic
from harness.report.templating import environment


def markdown(diff: RunDiff) -> str:
    dir_a, dir_b, rows, diffs = diff.a, diff.b, diff.rows, diff.machine_differences
    lines = [
        f"# {dir_b.name} (B) vs {dir_a.name} (A)",
        "",
        "Throughput (successful requests/s, mean of ≤ 1 s bins over all repeats). Change is B / A "
        "with its 95 % bootstrap interval; the verdict needs Mann-Whitney p < 0.05 and an "
        "interval that excludes 1.",
        "",
    ]
    if diffs:
        lines += [f"**Compared across machines (--force):** {'; '.join(diffs)}", ""]
    lines += [f"**Note:** {note} — its figures may be partial.\n" for note in diff.notes]
    lines += [f"**Served differently:** {line}\n" for line in diff.served]
    gated = diff.threshold is not None
    if diff.threshold is not None:
        lines += [
            f"**Regression gate** (--fail-on-regression {diff.threshold * 100:g} %): "
            f"{len(diff.regressions)} of {len(rows)} measurements slower than A by more than "
            f"{diff.threshold * 100:g} % with a significant difference.",
            "",
        ]
    lines += [
        "| scenario | endpoint | users | A RPS | B RPS | B / A | verdict |" + " gate |" * gated,
        "|---|---|---:|---:|---:|---:|---|" + "---|" * gated,
    ]
    for r in rows:
        gate = f" {r.gate(diff.threshold)} |" if diff.threshold is not None else ""
        lines.append(
            f"| {r.scenario} | {r.endpoint} | {r.users} | {r.a_rps:,.1f} | "
            f"{r.b_rps:,.1f} | {r.change} | {r.verdict} |{gate}"
        )
    return "\n".join(lines) + "\n"


def html(diff: RunDiff) -> str:
    return (
        environment()
        .get_template("compare.html.j2")
        .render(
            a=diff.a.name,
            b=diff.b.name,
            rows=diff.rows,
            diffs=diff.machine_differences,
            notes=diff.notes,
            served=diff.served,
            threshold=diff.threshold,
            regressions=diff.regressions,
        )
    )


def write(diff: RunDiff, out: Path) -> tuple[Path, Path]:
    """``compare.md`` and ``compare.html`` in ``out`` (created), written atomically; the pages
    are rendered first, so a failure leaves no empty folder."""
    if out.exists() and not out.is_dir():
        raise BenchError(f"--out: {out} is a file, not a folder")
    pages = {"compare.md": markdown(diff), "compare.html": html(diff)}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchError(f"--out: cannot make {out} ({exc.strerror or exc})") from None
    md_path, html_path = (write_atomic(out / name, text) for name, text in pages.items())
    return md_path, html_path
