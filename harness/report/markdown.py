"""``summary.md``: the verdicts and the numbers of a run, ready to paste into a pull request."""

from __future__ import annotations

from pathlib import Path

from harness.analysis import arrivals, disturbance, shapes, tails
from harness.analysis.analyze import Analysis
from harness.analysis.formatting import fmt, times
from harness.files import write_atomic


def markdown(analysis: Analysis) -> str:
    """``summary.md``: the verdicts and the numbers, ready for a pull request."""
    run, table = analysis.run, analysis.table
    meta = run.metadata
    pk = meta.get("packages", {})
    lines = [
        f"## sync vs async — run `{run.run_id}` ({run.status})",
        "",
        f"{meta.get('cpu_model')} · {meta.get('cpu_count')} cores · Python {meta.get('python')} · "
        f"fastapi {pk.get('fastapi')} · uvicorn {pk.get('uvicorn')} · "
        f"{meta.get('pinning', {}).get('note', '')}",
    ]
    lines += _checks(analysis)
    if analysis.claims:  # claims are about the bundled app: none for another app's run
        lines += ["", "| claim | verdict | evidence |", "|---|---|---|"]
        lines += [f"| {c.claim} | **{c.verdict}** | {c.evidence} |" for c in analysis.claims]
    # runs that recorded them: the requests in flight at the window's end, per-user completions
    recorded = tails.recorded(table)
    lines += [
        "",
        "| scenario | endpoint | users | RPS | 95% CI | predicted | measured/predicted "
        "| p50 ms | p99 ms | errors |"
        + (" in flight at end | completions per user (min / median / max) |" if recorded else ""),
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|" + ("---:|---|" if recorded else ""),
    ]
    for r in table.itertuples():
        if arrivals.is_open(r):
            continue  # in the open model's table
        lines.append(
            f"| {r.scenario} | {r.endpoint} | {r.users} | "
            f"{disturbance.rps_cell(r.rps, r.disturbed)} | "
            f"{fmt('{:,.0f}', r.rps_ci_low)}–{fmt('{:,.0f}', r.rps_ci_high)} | "
            f"{fmt('{:,.0f}', r.predicted_rps)} ({r.binding}) | {fmt('{:.0%}', r.ratio)} | "
            f"{tails.mark(r.p50_ms, r.p50_censored)} | {tails.mark(r.p99_ms, r.p99_censored)} | "
            f"{r.errors} |"
            + (f" {tails.in_flight_cell(r)} | {tails.per_user_cell(r)} |" if recorded else "")
        )
    lines += _open_model(analysis)
    disturbed = disturbance.lines(analysis.disturbed, analysis.run.measurements)
    if disturbed:  # never a clean number: say why, and what to do
        lines += ["", f"**Disturbed measurements** ({disturbance.MARK}: re-measure them):", ""]
        lines += [f"- {line}" for line in disturbed]
    if analysis.comparisons:
        lines += [
            "",
            "**Comparisons** (throughput; batch means of ≤ 1 s bins; bootstrap 95% CI; "
            "Mann-Whitney U):",
            "",
        ]
        lines += [
            f"- {c['scenario']} @ {c['users']} users: {c['verdict']}" for c in analysis.comparisons
        ]
    lines += _servers(analysis)
    lines += _mixes(analysis)
    lines += _blocking(analysis)
    if analysis.findings:
        lines += ["", "**Findings** (measured/predicted outside 0.8–1.1):", ""]
        lines += [f"- {f}" for f in analysis.findings]
    if analysis.warnings:
        lines += ["", "**Warnings:**", ""] + [f"- {w}" for w in analysis.warnings]
    return "\n".join(lines) + "\n"


def _servers(analysis: Analysis) -> list[str]:
    """Server shapes side by side, the requests per worker, and what idle WebSocket
    connections cost (each section only when the run has it)."""
    lines = []
    for title, found in (
        (
            "**Server shapes** (each against the matrix's first; throughput):",
            shapes.lines(analysis.shapes),
        ),
        ("**Idle WebSocket connections:**", analysis.idle),
        ("**Requests per worker:**", analysis.balance),
    ):
        if found:
            lines += ["", title, ""] + [f"- {x}" for x in found]
    return lines


def _open_model(analysis: Analysis) -> list[str]:
    """The rows measured at an offered rate: offered vs achieved, latency from the intended
    send (coordinated omission corrected), service time, late and dropped sends, the state."""
    rows = arrivals.open_rows(analysis.table)
    if not len(rows):
        return []
    lines = [
        "",
        "**Open model** (requests sent on a schedule; latency from the intended send time, "
        "service time from the actual send):",
        "",
        "| scenario | endpoint | offered req/s | achieved req/s | knee (model) | p50 ms | p99 ms "
        "| service p50 ms | service p99 ms | late | dropped | errors | state |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows.itertuples():
        lines.append(
            f"| {r.scenario} | {r.endpoint} | {r.rate:,g} | "
            f"{disturbance.rps_cell(r.rps, r.disturbed)} | {fmt('{:,.0f}', r.knee_rps)} | "
            f"{arrivals.percentile_cell(r, r.p50_ms)} | {arrivals.percentile_cell(r, r.p99_ms)} | "
            f"{arrivals.ms(r.service_p50_ms)} | {arrivals.ms(r.service_p99_ms)} | "
            f"{int(r.late)} | {int(r.dropped)} | {r.errors} | {arrivals.state(r)} |"
        )
    return lines


def _checks(analysis: Analysis) -> list[str]:
    """The run's checks (bench run --check, the scenario files' checks): pass or FAIL."""
    if not analysis.checks:
        return []
    failed = sum(not c.passed for c in analysis.checks)
    counts = f"{failed} of {len(analysis.checks)} failed" if failed else "all passed"
    lines = [
        "",
        f"**Checks** ({counts}):",
        "",
        "| check | where | measured | threshold | result | why |",
        "|---|---|---:|---|---|---|",
    ]
    for c in analysis.checks:
        cells = [c.check, c.where, c.measured, c.threshold, "pass" if c.passed else "**FAIL**"]
        cells = [*cells, c.why]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return lines


def _mixes(analysis: Analysis) -> list[str]:
    """Mixed traffic: each endpoint of a mix beside itself alone, and who starved whom."""
    if not analysis.mixes:
        return []
    lines = ["", "**Mixed traffic** (each endpoint in the mix vs alone, same users):"]
    for m in analysis.mixes:
        lines += [
            "",
            f"- {m.sentence}",
            "",
            "| endpoint | share asked / measured | RPS | p50 ms | p99 ms | alone p50 / p99 ms "
            "| p50 × |",
            "|---|---|---:|---:|---:|---|---:|",
        ]
        lines += [
            f"| {p.endpoint} | {fmt('{:.0%}', p.asked_share)} / {fmt('{:.0%}', p.measured_share)} "
            f"| {p.rps:,.1f} | {p.p50_ms:,.1f} | {p.p99_ms:,.1f} | "
            f"{fmt('{:,.1f}', p.solo_p50_ms)} / {fmt('{:,.1f}', p.solo_p99_ms)} "
            f"| {times(p.p50_ratio)} |"
            for p in m.parts
        ]
    return lines


def _blocking(analysis: Analysis) -> list[str]:
    """Who blocked the event loop, per measurement that had a blocker (the app's watchdog)."""
    found = [b for b in analysis.blocking if b.blockers]
    if not found:
        return []
    lines = ["", "**Who blocked the event loop** (route, time the loop was held, top frame):", ""]
    for b in found:
        m = b.measurement
        for x in b.blockers:
            top = x.frames[0] if x.frames else None
            frame = f" — `{top.frame}`: `{top.line}`" if top and top.line else ""
            repeat = f" (#{m.repeat + 1})" if m.repeat else ""
            lines.append(
                f"- {m.scenario} / {m.endpoint} @ {m.users} users{repeat}: `{x.route}` "
                f"{x.seconds:.2f} s ({x.share:.0%} of the window){frame}"
            )
    return lines


def write(analysis: Analysis) -> Path:
    return write_atomic(analysis.run_dir / "summary.md", markdown(analysis))
