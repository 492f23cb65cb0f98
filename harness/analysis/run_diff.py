"""Two runs side by side (``bench compare A B``): per measurement, B against A — ratio,
uncertainty, verdict.

Like pyperf's ``compare_to``: runs made on different machines are refused unless forced, with
the fields that differ named. Reads only the two run folders; ``harness/report/diff_pages.py``
writes the result. With a threshold (``--fail-on-regression 5%``) each row is also marked: a
regression is B slower than A by more than the threshold *and* significant.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import results
from harness.analysis import stats
from harness.analysis.samples import bins_by_group
from harness.errors import BenchError
from harness.results import MACHINE_FIELDS


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
        return self.comparison.verdict(name_b=False)

    def gate(self, threshold: float) -> str:
        """ "regression" (B's throughput lower by more than ``threshold``, significantly),
        "improvement" (higher by more), "within N %" (a significant change no larger) or
        "within noise" (no significant difference)."""
        c = self.comparison
        if math.isnan(c.ratio.estimate):
            return "not comparable"
        if not c.significant:
            return WITHIN_NOISE
        if c.ratio.estimate < 1 - threshold:
            return REGRESSION
        if c.ratio.estimate > 1 + threshold:
            return IMPROVEMENT
        return f"within {threshold * 100:g} %"


REGRESSION, IMPROVEMENT, WITHIN_NOISE = "regression", "improvement", "within noise"
_SHARE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(%?)\s*$")


def parse_threshold(text: str) -> float:
    """``"5%"`` or ``"0.05"`` → 0.05; a ``ValueError`` saying what to write otherwise."""
    found = _SHARE.match(text)
    if not found:
        raise ValueError(f"expected a share like 5% or 0.05, got {text!r}")
    share = float(found[1]) / (100 if found[2] else 1)
    if share >= 1 and not found[2]:
        raise ValueError(f"{text.strip()!r} reads as {share:.0%}: write 5% or 0.05 for 5 %")
    if share >= 1:
        raise ValueError(f"must be below 100 %, got {text!r}")
    return share


def machine_differences(a: results.Run, b: results.Run) -> list[str]:
    diffs = []
    for key in MACHINE_FIELDS:
        va, vb = a.metadata.get(key), b.metadata.get(key)
        if va != vb:
            diffs.append(f"{key} ({va!r} vs {vb!r})")
    return diffs


@dataclass(frozen=True)
class RunDiff:
    a: Path
    b: Path
    rows: list[Row]
    machine_differences: list[str]
    notes: tuple[str, ...] = ()  # a run that did not complete: its figures may be partial
    served: tuple[str, ...] = ()  # scenarios served in another shape in B (e.g. 2 workers)
    threshold: float | None = None  # --fail-on-regression: each row gets a gate mark

    @property
    def regressions(self) -> list[Row]:
        """Rows where B is slower than A by more than the threshold, significantly."""
        if self.threshold is None:
            return []
        return [r for r in self.rows if r.gate(self.threshold) == REGRESSION]


def served_differences(a: results.Run, b: results.Run) -> tuple[str, ...]:
    """The scenarios both runs measured but served differently (workers, loop, parser, server):
    what a comparison of two shapes is about, so it is said above the table."""
    shapes_a = {s["name"]: s.get("server", {}).get("label") for s in a.scenarios}
    found = []
    for record in b.scenarios:
        name, label_b = record["name"], record.get("server", {}).get("label")
        label_a = shapes_a.get(name)
        if name in shapes_a and label_a != label_b:
            default = "uvicorn, 1 worker (before server shapes were recorded)"
            found.append(f"{name}: A served by {label_a or default}; B by {label_b or default}")
    return tuple(found)


def status_notes(a: results.Run, b: results.Run) -> tuple[str, ...]:
    notes = []
    for name, run in (("A", a), ("B", b)):
        if run.status != "complete":
            why = f": {run.note}" if run.note else ""
            notes.append(f"{name} ({run.run_id}) is {run.status}{why}")
    return tuple(notes)


def diff_runs(
    dir_a: Path, dir_b: Path, force: bool = False, threshold: float | None = None
) -> RunDiff:
    run_a, run_b = results.load(dir_a), results.load(dir_b)
    diffs = machine_differences(run_a, run_b)
    if diffs and not force:
        raise BenchError(
            f"the runs were made on different machines: {'; '.join(diffs)} — "
            "their numbers are not comparable; pass --force to compare anyway"
        )
    bins_a = bins_by_group(dir_a, run_a)
    bins_b = bins_by_group(dir_b, run_b)
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
                stats.compare_bins("B", b, "A", a),
            )
        )
    if not rows:
        raise BenchError(
            f"{dir_a.name} and {dir_b.name} have no measurement in common "
            "(same scenario, endpoint and users level)"
        )
    notes = status_notes(run_a, run_b)
    served = served_differences(run_a, run_b)
    return RunDiff(dir_a, dir_b, rows, diffs, notes, threshold=threshold, served=served)
