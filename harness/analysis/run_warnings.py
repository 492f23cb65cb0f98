"""Warnings about a run's own quality, each saying what to do (hyperfine/pyperf style).

Errors, a saturated load generator, repeats that disagree, too few requests, a failed
measurement, cores that were not kept apart (not pinned, or shared): every one is shown beside
the figures it concerns, never hidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from harness.analysis import arrivals
from harness.results import Run, concurrent_runs

CV_LIMIT = 0.10
MIN_REQUESTS = 100
MIN_BINS = 5


def warnings_for(run: Run, table: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Stability warnings that say what to do (hyperfine/pyperf style)."""
    out = []
    for row in table.itertuples():
        where = f"{row.scenario} / {row.endpoint} @ {arrivals.level(row)}"
        if row.errors:
            out.append(
                f"{where}: {row.errors} errors ({row.error_rate:.1%}), {row.timeouts} "
                "timeouts — throughput counts successes only; see the table"
            )
        if row.loadgen_saturated:
            out.append(
                f"{where}: the load generator used {row.loadgen_cpu_share:.0%} of its CPU "
                "— it may be the bottleneck; lower --users or check with wrk"
            )
        if row.repeats > 1 and row.rps_cv > CV_LIMIT:
            out.append(
                f"{where}: repeats disagree (CV {row.rps_cv:.0%} > 10%) — use --repeat 5 "
                "or a longer --duration, and keep the machine idle"
            )
        if row.requests < MIN_REQUESTS or getattr(row, "bins", MIN_BINS) < MIN_BINS:
            out.append(
                f"{where}: only {row.requests} requests "
                f"({getattr(row, 'bins', '?')} throughput bins) — too few for stable "
                "numbers; use a longer --duration"
            )
    failed = summary[summary["status"] == "failed"] if len(summary) else summary
    for row in failed.itertuples():
        out.append(f"{row.scenario} / {row.endpoint} @ {arrivals.level(row)}: measurement failed")
    out += _unreadable(summary)
    return out


def _unreadable(summary: pd.DataFrame) -> list[str]:
    """Samples files that could not be read whole: named, with what was left out."""
    out = []
    for row in summary.itertuples() if "bad_rows" in summary else ():
        if row.empty_file:
            out.append(f"{row.samples_file} is empty: this measurement has no sample to report")
        elif row.bad_rows:
            out.append(
                f"{row.samples_file}: {row.bad_rows} row(s) that are not samples were "
                "skipped (a garbled or truncated file)"
            )
    return out


def concurrency(run_dir: Path, run: Run) -> list[str]:
    """A run measured beside another (--allow-concurrent) is disturbed: say so, naming it."""
    return [
        f"another bench run measured on this machine at the same time (PID "
        f"{other.get('pid', '?')}, {other.get('run_dir', '?')}): both shared the pinned cores, "
        "so both runs' figures are disturbed — run one at a time to quote them"
        for other in concurrent_runs(run_dir, run)
    ]


def served(run: Run) -> list[str]:
    """What a scenario not served by the bundled app lacks: said, never shown as zeros."""
    out = []
    for record in run.scenarios:
        where = record.get("served_by", {})
        if where.get("kind") != "target":
            continue
        url = where.get("target", "")
        line = (
            f"{record.get('name')}: served by {url}, a server the harness did not start — only "
            "the load generator was pinned; the server's CPUs are its own"
        )
        if not record.get("app", {}).get("instrumented", False):
            line += (
                "; it does not serve /_bench/metrics, so its server-side signals (loop lag, "
                "thread-pool tokens, CPU, RSS) are not available: add "
                "install_instrumentation(app) to it (README: Measure your own app)"
            )
        out.append(line)
    return out


def pinning(run: Run) -> list[str]:
    """A run whose cores were not kept apart (not pinned, or roles sharing CPUs), or whose
    foreign-CPU check could not run: said, so its figures are never read as a clean run's."""
    meta = run.metadata
    plan = meta.get("pinning") or {}
    out = []
    if plan.get("pinned") is False:
        out.append(
            "not pinned: load generator and app share cores — this OS cannot pin processes to "
            "CPUs, so the load generator took CPU from the app; compare ratios inside this run, "
            "not its absolute figures with a pinned run's"
        )
    else:
        for share in _shares(plan):
            roles = " and ".join(_ROLE_NAMES.get(r, r) for r in share["roles"])
            cpus = ",".join(map(str, share["cpus"]))
            out.append(
                f"shared cores: {roles} share CPU {cpus} — they competed for it, so the app's "
                "figures are pessimistic; give each role its own CPUs (--app-cpus, "
                "--loadgen-cpus, --services-cpus) to quote them"
            )
    if meta.get("per_cpu_times") is False:
        out.append(
            "the foreign-CPU check could not run: this OS has no per-CPU times (/proc/stat), so "
            "no measurement was checked for other processes on its cores — keep the machine "
            "idle while measuring"
        )
    return out


_ROLE_NAMES = {"app": "the app", "loadgen": "the load generator", "services": "the services"}


def _shares(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's shared cores; for a run recorded before they were (no ``shared``), the app's
    CPUs that the load generator also had (a one-CPU box)."""
    if "shared" in plan:
        return list(plan["shared"])
    common = sorted(set(plan.get("app", [])) & set(plan.get("loadgen", [])))
    return [{"roles": ["app", "loadgen"], "cpus": common}] if common else []
