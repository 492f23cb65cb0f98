"""``summary.json``: a run's numbers and verdicts for scripts, versioned and checked by a schema.

Format history (``"schema"``: the document's name and a major version, ``bench-summary/N``,
described by ``schemas/summary-N.schema.json`` beside this module):
  bench-summary/1 — the run (id, status, note, command, metadata, scenarios), one record per
      row of the report's table (median over repeats, 95 % CI, percentiles, errors, the capacity
      model's prediction, server signals, flags), the in-run comparisons, the claims, mixed
      traffic, who blocked the event loop, headlines, findings and warnings.
      Since then, optional fields a reader that does not know them can ignore (still
      bench-summary/1, the schema names them without requiring them): a measurement's
      ``latency_ms.censored`` (which percentiles are lower bounds), ``in_flight_at_end`` and
      ``fairness`` (per-user completions).
The schema is strict (no field it does not name), so any change of shape — a field added,
renamed, removed or retyped — is a new version with a new schema file, never an edit of this one.
Numbers are JSON numbers; a value that does not exist (no prediction, NaN, ±inf) is ``null``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from harness.analysis import explain, gate, run_warnings, stats, tails
from harness.analysis.analyze import Analysis
from harness.analysis.blocking import Blocking
from harness.analysis.mixes import Mixed
from harness.analysis.tables import KEYS
from harness.files import write_atomic

SCHEMA = "bench-summary/1"
SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "summary-1.schema.json"
FILE = "summary.json"
# a measurement's flags: the per-row conditions behind the run's warnings and findings
FLAGS = (
    "loadgen_saturated",
    "errors",
    "repeats_disagree",
    "few_requests",
    "off_prediction",
    "disturbed",
)


def clean(value: Any) -> Any:
    """JSON-ready: numpy scalars as Python values, NaN and ±inf as None, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``summary.json``."""
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def flags(row: Any) -> list[str]:
    """What is wrong with one table row, as names (the warnings say it in words)."""
    found = []
    if row.loadgen_saturated:
        found.append("loadgen_saturated")
    if row.errors:
        found.append("errors")
    if row.repeats > 1 and row.rps_cv > run_warnings.CV_LIMIT:
        found.append("repeats_disagree")
    if row.requests < run_warnings.MIN_REQUESTS or row.bins < run_warnings.MIN_BINS:
        found.append("few_requests")
    if row.finding:
        found.append("off_prediction")
    if getattr(row, "disturbed", None):
        found.append("disturbed")
    return found


def measurements(analysis: Analysis) -> list[dict[str, Any]]:
    """One record per row of the table (scenario × endpoint × users, median over repeats)."""
    summary = analysis.summary
    if not len(analysis.table):
        return []
    paths = {(r.scenario, r.endpoint): r.path for r in summary.itertuples()}
    means = summary[summary["status"] == "ok"].groupby(KEYS, sort=False)["mean_ms"].median()
    return [clean(_record(row, paths, means.to_dict())) for row in analysis.table.itertuples()]


def _record(row: Any, paths: dict[Any, str], means: dict[Any, float]) -> dict[str, Any]:
    predicted = not math.isnan(row.predicted_rps)
    return {
        "scenario": row.scenario,
        "endpoint": row.endpoint,
        "path": paths.get((row.scenario, row.endpoint)) or None,
        "variant": row.variant,
        "users": row.users,
        "repeats": row.repeats,
        "mix": row.mix or None,
        "rps": {
            "value": row.rps,
            "ci_low": row.rps_ci_low,
            "ci_high": row.rps_ci_high,
            "min": row.rps_min,
            "max": row.rps_max,
            "cv": row.rps_cv,
        },
        "latency_ms": {
            "p50": row.p50_ms,
            "p90": row.p90_ms,
            "p99": row.p99_ms,
            "max": row.max_ms,
            "mean": means.get(
                (row.scenario, row.endpoint, row.variant, row.users, row.rate), math.nan
            ),
            "censored": {f"p{q}": bool(getattr(row, f"p{q}_censored")) for q in (50, 90, 99)},
        },
        "in_flight_at_end": _in_flight(row),
        "fairness": _fairness(row),
        **_open_model(row),
        "requests": row.requests,
        "errors": row.errors,
        "timeouts": row.timeouts,
        "error_rate": row.error_rate,
        "predicted_rps": row.predicted_rps,
        "measured_over_predicted": row.ratio,
        "binding": row.binding if predicted else None,
        "explanation": row.sentence,
        "finding": explain.finding_text(row) if row.finding else None,
        "loadgen_cpu_share": row.loadgen_cpu_share,
        "server": {
            "app_cpu_share": row.app_cpu_share,
            "loop_lag_max_ms": row.loop_lag_max_ms,
            "loop_lag_mean_ms": row.loop_lag_mean_ms,
            "threadpool_busy_max": row.threadpool_busy_max,
        },
        "flags": flags(row),
        "disturbed": list(getattr(row, "disturbed", None) or []),
    }


def _open_model(row: Any) -> dict[str, Any]:
    """``rate`` {offered, achieved, overloaded, queue_growth}, the service time, ``late`` and
    ``dropped``: null, null, 0 and 0 for the closed model."""
    if not row.rate:
        return {"rate": None, "service_ms": None, "late": 0, "dropped": 0}
    return {
        "rate": {
            "offered": row.rate,
            "achieved": row.rps,
            "overloaded": bool(row.overloaded),
            "queue_growth": row.queue_growth,
            "knee": row.knee_rps,
        },
        "service_ms": {"p50": row.service_p50_ms, "p99": row.service_p99_ms},
        "late": int(row.late),
        "dropped": int(row.dropped),
    }


def _in_flight(row: Any) -> dict[str, Any] | None:
    if math.isnan(row.in_flight_at_end):
        return None
    return {"count": int(row.in_flight_at_end), "oldest_age_ms": row.oldest_in_flight_ms}


def _fairness(row: Any) -> dict[str, Any] | None:
    if math.isnan(row.user_cv):
        return None
    return {
        "min": row.user_min,
        "median": row.user_median,
        "max": row.user_max,
        "cv": row.user_cv,
        "idle_share": row.users_idle,
        "dispersion": row.user_dispersion,
        "unfair": tails.unfair(row),
    }


def _comparison(c: dict[str, Any]) -> dict[str, Any]:
    ratio = stats.Interval(c["ratio"], c["low"], c["high"])
    significant = stats.Comparison(c["a"], c["b"], ratio, c["p"]).significant
    return {
        "scenario": c["scenario"],
        "users": c["users"],
        "a": c["a"],
        "b": c["b"],
        "ratio": {"estimate": c["ratio"], "low": c["low"], "high": c["high"]},
        "p_value": c["p"],
        "significant": significant,
        "verdict": c["verdict"],
    }


def _mix(m: Mixed) -> dict[str, Any]:
    return {
        "scenario": m.scenario,
        "mix": m.mix,
        "users": m.users,
        "rps": m.rps,
        "sentence": m.sentence,
        "parts": [
            {
                "endpoint": p.endpoint,
                "asked_share": p.asked_share,
                "measured_share": p.measured_share,
                "rps": p.rps,
                "p50_ms": p.p50_ms,
                "p99_ms": p.p99_ms,
                "solo_p50_ms": p.solo_p50_ms,
                "solo_p99_ms": p.solo_p99_ms,
            }
            for p in m.parts
        ],
    }


def _blocking(b: Blocking) -> dict[str, Any]:
    m = b.measurement
    return {
        "measurement": m.id,
        "scenario": m.scenario,
        "endpoint": m.endpoint,
        "users": m.users,
        "repeat": m.repeat,
        "threshold_ms": b.threshold_ms,
        "unattributed_s": b.unattributed_s,
        "blockers": [
            {
                "route": x.route,
                "seconds": x.seconds,
                "share": x.share,
                "frames": [
                    {"frame": f.frame, "line": f.line, "seconds": f.seconds} for f in x.frames
                ],
            }
            for x in b.blockers
        ],
    }


def _scenario(record: dict[str, Any]) -> dict[str, Any]:
    app = record.get("app", {})
    return {
        "name": record.get("name", ""),
        "description": record.get("description", ""),
        "served_by": record.get("served_by", {}).get("kind", "bundled"),
        "parameters": record.get("parameters", {}),
        "settings": app.get("settings", {}),
        "threadpool_tokens": app.get("threadpool_tokens"),
        "warmup_s": record.get("warmup_s"),
        "duration_s": record.get("duration_s"),
        "server": _server(record.get("server")),
    }


def _server(server: dict[str, Any] | None) -> dict[str, Any]:
    """The server shape (a run from before shapes: uvicorn's one worker with its defaults)."""
    doc = {"server": "uvicorn", "workers": 1, "loop": "auto", "http": "auto", **(server or {})}
    return {k: doc[k] for k in ("server", "workers", "loop", "http")}


def _check(v: gate.Result) -> dict[str, Any]:
    """A check at one place (``bench run --check``, a scenario's ``checks``): as the table shows
    it, and as numbers."""
    return {
        "check": v.check,
        "where": v.where,
        "scenario": v.scenario or None,
        "endpoint": v.endpoint or None,
        "users": v.users,
        "rate": v.rate,
        "passed": v.passed,
        "measured": v.measured,
        "threshold": v.threshold,
        "value": v.value,
        "limit": v.limit,
        "why": v.why,
    }


def summary(analysis: Analysis) -> dict[str, Any]:
    """The whole document, JSON-ready (``analysis`` must have been interpreted)."""
    run = analysis.run
    return clean(
        {
            "schema": SCHEMA,
            "run_id": run.run_id,
            "status": run.status,
            "note": run.note,
            "created": run.created,
            "finished": run.finished or None,
            "command": run.command,
            "results_schema": run.schema,
            "metadata": run.metadata,
            "scenarios": [_scenario(s) for s in run.scenarios],
            "loadgen_saturated": analysis.saturated,
            "measurements": measurements(analysis),
            "comparisons": [_comparison(c) for c in analysis.comparisons],
            "claims": [
                {"claim": c.claim, "verdict": c.verdict, "evidence": c.evidence}
                for c in analysis.claims
            ],
            "mixes": [_mix(m) for m in analysis.mixes],
            "shapes": [c.to_dict() for c in analysis.shapes],
            "blocking": [_blocking(b) for b in analysis.blocking if b.recorded],
            "checks": [_check(v) for v in analysis.checks],
            "checks_passed": all(v.passed for v in analysis.checks) if analysis.checks else None,
            "headlines": analysis.headlines,
            "findings": analysis.findings,
            "warnings": analysis.warnings,
        }
    )


def dumps(document: Any) -> str:
    """Sorted keys, one space of indent, no NaN (a NaN left here is a bug: it raises)."""
    return (
        json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    )


def text(analysis: Analysis) -> str:
    return dumps(summary(analysis))


def write(analysis: Analysis) -> Path:
    """Write ``summary.json`` into the run folder (atomically); return its path."""
    return write_atomic(analysis.run_dir / FILE, text(analysis))
