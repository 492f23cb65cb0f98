"""``bench report --format``: a run as one text — Markdown, JSON, CSV or github-action-benchmark
input — computed from its files without drawing a chart (html is ``build``'s whole report).

The CSV and github-action-benchmark exports are flattened from ``summary.json``'s measurement
records, so every export says the same numbers. github-action-benchmark reads one list per tool:
``github-benchmark`` is throughput for ``tool: customBiggerIsBetter``, ``github-benchmark-latency``
the p99 for ``tool: customSmallerIsBetter``; each entry is ``{"name", "unit", "value", "range",
"extra"}`` (its ``BenchmarkResult``), named "<scenario> / <endpoint> @ <users> users" so that the
same measurement of the next run continues the same series.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.analysis import gate
from harness.analysis.analyze import Analysis, interpret, tabulate
from harness.errors import BenchError
from harness.report import markdown, summary_json

FORMATS = ("html", "md", "json", "csv", "github-benchmark", "github-benchmark-latency")
CSV_COLUMNS = (
    "scenario",
    "endpoint",
    "path",
    "variant",
    "users",
    "offered_rate",  # the open model's offered req/s (empty for the closed model; rps is achieved)
    "repeats",
    "mix",
    "rps",
    "rps_ci_low",
    "rps_ci_high",
    "rps_cv",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "mean_ms",
    "requests",
    "errors",
    "timeouts",
    "error_rate",
    "predicted_rps",
    "measured_over_predicted",
    "binding",
    "loadgen_cpu_share",
    "app_cpu_share",
    "loop_lag_max_ms",
    "service_p50_ms",
    "service_p99_ms",
    "late",
    "dropped",
    "overloaded",
    "flags",
)


def flat(record: dict[str, Any]) -> dict[str, Any]:
    """A measurement record of ``summary.json`` as one CSV row (``CSV_COLUMNS``)."""
    rps, latency, server = record["rps"], record["latency_ms"], record["server"]
    rate, service = record.get("rate") or {}, record.get("service_ms") or {}
    row = {k: record[k] for k in CSV_COLUMNS if k in record and k != "flags"}
    row.update(
        offered_rate=rate.get("offered"),
        overloaded=rate.get("overloaded"),
        service_p50_ms=service.get("p50"),
        service_p99_ms=service.get("p99"),
    )
    row.update(
        rps=rps["value"],
        rps_ci_low=rps["ci_low"],
        rps_ci_high=rps["ci_high"],
        rps_cv=rps["cv"],
        **{f"{k}_ms": latency[k] for k in ("p50", "p90", "p99", "max", "mean")},
        app_cpu_share=server["app_cpu_share"],
        loop_lag_max_ms=server["loop_lag_max_ms"],
        flags=" ".join(record["flags"]),
    )
    return row


def csv_text(analysis: Analysis) -> str:
    """One row per measurement (the table's rows), a header first; a missing value is empty."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in summary_json.measurements(analysis):
        writer.writerow({k: "" if v is None else v for k, v in flat(record).items()})
    return out.getvalue()


def _name(record: dict[str, Any]) -> str:
    rate = record.get("rate")  # the open model: named by its offered rate
    level = f"{rate['offered']:,g} req/s offered" if rate else f"{record['users']} users"
    return f"{record['scenario']} / {record['endpoint']} @ {level}"


def _extra(record: dict[str, Any]) -> str:
    latency = record["latency_ms"]
    lines = [
        f"RPS {record['rps']['value']:,.1f}; p50 {_ms(latency['p50'])}, p99 {_ms(latency['p99'])}",
        f"{record['requests']} requests, {record['errors']} errors, {record['repeats']} repeat(s)",
    ]
    if record["predicted_rps"] is not None:
        lines.append(
            f"predicted {record['predicted_rps']:,.1f} RPS ({record['binding']}): measured "
            f"{record['measured_over_predicted']:.0%} of it"
        )
    if record["flags"]:
        lines.append("flags: " + ", ".join(record["flags"]))
    lines += [f"disturbed: {why}" for why in record.get("disturbed", [])]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


def github_benchmark(analysis: Analysis, latency: bool = False) -> str:
    """github-action-benchmark's custom input: RPS (bigger is better) or p99 ms (smaller is
    better), one entry per measurement that has the value."""
    entries = []
    for record in summary_json.measurements(analysis):
        rps = record["rps"]
        if latency:
            value, unit, spread = record["latency_ms"]["p99"], "ms", ""
        else:
            value, unit = rps["value"], "req/s"
            low, high = rps["ci_low"], rps["ci_high"]
            spread = "" if low is None or high is None else f"95% CI {low:,.1f}–{high:,.1f}"
        if value is None:  # no successful request: no p99 to chart
            continue
        entry = {"name": _name(record), "unit": unit, "value": value}
        entries.append({**entry, **({"range": spread} if spread else {}), "extra": _extra(record)})
    return json.dumps(entries, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


# format → (does it need the words: comparisons, claims, warnings?, renderer)
RENDERERS: dict[str, tuple[bool, Callable[[Analysis], str]]] = {
    "md": (True, markdown.markdown),
    "json": (True, summary_json.text),
    "csv": (False, csv_text),
    "github-benchmark": (False, github_benchmark),
    "github-benchmark-latency": (False, lambda analysis: github_benchmark(analysis, True)),
}


@dataclass(frozen=True)
class Exported:
    text: str
    checks: list[gate.Result]  # the run's saved checks, judged (what the exit code says)


def export(run_dir: Path, name: str) -> Exported:
    """The run in format ``name`` (not html): its files read once, no chart drawn, no file
    written; its saved checks judged whatever the format (the numbers are all they need)."""
    words, render = RENDERERS[name]
    analysis = tabulate(run_dir)
    if words:
        interpret(analysis)  # judges the checks too
    else:
        analysis.checks = gate.judge(analysis, gate.from_run(analysis.run))
    return Exported(render(analysis), analysis.checks)


def choose_format(form: str, as_json: bool, out_file: Path | None) -> str:
    """``bench report``'s format (``--json`` is ``json``), its options checked before the run is
    read: a bad one is a one-line error."""

    def bad(option: str, message: str) -> BenchError:
        return BenchError(f"Invalid value for {option}: {message} (see: bench report --help)")

    if as_json and form not in ("html", "json"):
        raise bad("--json", f"it is --format json, not --format {form}: give one of them")
    form = "json" if as_json else form
    if form not in FORMATS:
        raise bad("--format", f"{form!r} is not a format; known: {', '.join(FORMATS)}")
    if out_file is not None and form == "html":
        raise bad(
            "--out",
            "html is the whole report, written into the run folder; --out takes "
            "an export (--format md, json, csv, github-benchmark…)",
        )
    if out_file is not None and out_file.is_dir():
        raise bad("--out", f"{out_file} is a folder")
    if out_file is not None and not out_file.parent.is_dir():
        raise bad("--out", f"{out_file.parent}: no such folder")
    return form
