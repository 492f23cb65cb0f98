"""``bench compare RUN_A RUN_B``: per measurement, B against A — ratio, uncertainty, verdict.

Like pyperf's ``compare_to``: runs made on different machines are refused unless forced, with
the fields that differ named. Reads only the two run folders; writes Markdown and HTML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from harness import analysis, results, stats
from harness.errors import BenchError
from harness.html import TEMPLATES
from harness.metadata import MACHINE_FIELDS


@dataclass(frozen=True)
class Row:
    scenario: str
    endpoint: str
    users: int
    a_rps: float
    b_rps: float
    comparison: stats.Comparison

    @property
    def change(self) -> str:
        r = self.comparison.ratio
        if math.isnan(r.estimate):
            return "–"
        return f"{r.estimate:.2f}× [{r.low:.2f}, {r.high:.2f}]"

    @property
    def verdict(self) -> str:
        c = self.comparison
        r = c.ratio
        if math.isnan(r.estimate):
            return "not comparable"
        if not c.significant:
            return f"no significant difference (p={c.p_value:.2g})"
        word = "faster" if r.estimate >= 1 else "slower"
        factor = r.estimate if r.estimate >= 1 else 1 / r.estimate
        return f"B is {factor:.2f}× {word} (±{r.half_width:.2f})"


def machine_differences(a: results.Run, b: results.Run) -> list[str]:
    diffs = []
    for key in MACHINE_FIELDS:
        va, vb = a.metadata.get(key), b.metadata.get(key)
        if va != vb:
            diffs.append(f"{key} ({va!r} vs {vb!r})")
    return diffs


def compare_runs(dir_a: Path, dir_b: Path, force: bool = False) -> tuple[list[Row], list[str]]:
    run_a, run_b = results.load(dir_a), results.load(dir_b)
    diffs = machine_differences(run_a, run_b)
    if diffs and not force:
        raise BenchError(
            f"the runs were made on different machines: {'; '.join(diffs)} — "
            "their numbers are not comparable; pass --force to compare anyway"
        )
    bins_a = analysis.bins_by_group(dir_a, run_a)
    bins_b = analysis.bins_by_group(dir_b, run_b)
    rows = []
    for key in bins_a:
        if key not in bins_b:
            continue
        a, b = bins_a[key], bins_b[key]
        rows.append(
            Row(
                key[0],
                key[1],
                key[2],
                float(np.mean(a)) if a.size else math.nan,
                float(np.mean(b)) if b.size else math.nan,
                stats.compare("B", b, "A", a),
            )
        )
    if not rows:
        raise BenchError(
            f"{dir_a.name} and {dir_b.name} have no measurement in common "
            "(same scenario, endpoint and users level)"
        )
    return rows, diffs


def markdown(dir_a: Path, dir_b: Path, rows: list[Row], diffs: list[str]) -> str:
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
    lines += [
        "| scenario | endpoint | users | A RPS | B RPS | B / A | verdict |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.endpoint} | {r.users} | {r.a_rps:,.1f} | "
            f"{r.b_rps:,.1f} | {r.change} | {r.verdict} |"
        )
    return "\n".join(lines) + "\n"


def html(dir_a: Path, dir_b: Path, rows: list[Row], diffs: list[str]) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    return env.get_template("compare.html.j2").render(
        a=dir_a.name, b=dir_b.name, rows=rows, diffs=diffs
    )


def write(dir_a: Path, dir_b: Path, out: Path, force: bool = False) -> tuple[list[Row], Path, Path]:
    rows, diffs = compare_runs(dir_a, dir_b, force)
    out.mkdir(parents=True, exist_ok=True)
    md_path, html_path = out / "compare.md", out / "compare.html"
    md_path.write_text(markdown(dir_a, dir_b, rows, diffs), encoding="utf-8")
    html_path.write_text(html(dir_a, dir_b, rows, diffs), encoding="utf-8")
    return rows, md_path, html_path
