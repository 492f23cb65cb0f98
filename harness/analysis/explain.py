"""The "why" of a run: Little's-law predictions per measurement, findings, in-run comparisons.

Reads only the run (results + aggregated table); every number it states comes from that run:
the CPU ceiling and per-request overhead from its baseline (or calibration) measurements, the
concurrency limits from the settings the app reported when it started.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis import arrivals, capacity, stats
from harness.results import Run

BASELINE_SCENARIOS = ("baseline", "calibration")
RATIO_LOW, RATIO_HIGH = 0.8, 1.1
CPU_BUSY = 0.85  # app CPU share above which a shortfall is the CPU's doing


def shapes_of(run: Run) -> dict[str, str]:
    """Each scenario's server shape, as a key ('' for one worker of uvicorn's defaults: older
    runs), and whether it is a baseline (``baseline``, ``calibration``, ``calibration-w2``…)."""
    return {s["name"]: _shape_key(s.get("server")) for s in run.scenarios}


def _shape_key(server: dict[str, Any] | None) -> str:
    if not server:
        return ""
    return "/".join(str(server.get(k, "")) for k in ("server", "workers", "loop", "http"))


def _served(run: Run) -> str:
    """``on one pinned core``, ``on 2 pinned cores``, ``on 2 cores, not pinned``."""
    pinning = run.metadata.get("pinning", {})
    cores = len(pinning.get("app", [])) or 1
    where = "one" if cores == 1 else str(cores)
    pinned = pinning.get("pinned", True)
    return f"on {where} {'pinned ' if pinned else ''}core{'s' if cores > 1 else ''}" + (
        "" if pinned else ", not pinned"
    )


def is_baseline(run: Run, scenario: str) -> bool:
    bases = {s["name"]: s.get("base") or s["name"] for s in run.scenarios}
    return bases.get(scenario, scenario) in BASELINE_SCENARIOS


def ceilings(table: pd.DataFrame, run: Run | None = None) -> dict[tuple[str, str], float]:
    """Highest RPS of ``sync hello`` / ``async hello`` per server shape: the app's CPU ceilings
    (with two workers on two cores, the ceiling is not one worker's)."""
    found: dict[tuple[str, str], float] = {}
    if not len(table):
        return found
    shapes = shapes_of(run) if run is not None else {}
    names = set(table["scenario"])
    baselines = [n for n in names if (is_baseline(run, n) if run else n in BASELINE_SCENARIOS)]
    base = table[table["scenario"].isin(baselines)]
    for variant in ("sync", "async"):
        rows = base[base["variant"] == variant]
        for name, group in rows.groupby("scenario"):
            if group["errors"].sum() == 0 and group["rps"].max() > 0:
                key = (shapes.get(str(name), ""), variant)
                found[key] = max(found.get(key, 0.0), float(group["rps"].max()))
    return found


def flatten(extra: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric facts the app reported at start-up (``cpu.us_per_round`` → ``cpu_us_per_round``),
    usable by name in a scenario's model expressions."""
    names: dict[str, float] = {}
    for key, value in extra.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            names.update(flatten(value, f"{name}_"))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            names[name] = float(value)
    return names


def context_for(record: dict[str, Any], run: Run, ceiling: float | None) -> capacity.Context:
    app = record.get("app", {})
    settings = app.get("settings", {})
    pinning = run.metadata.get("pinning", {})
    return capacity.Context(
        threadpool_tokens=float(
            app.get("threadpool_tokens") or settings.get("threadpool_tokens", 40)
        ),
        db_pool=float(settings.get("db_pool_size", 10)) + float(settings.get("db_max_overflow", 0)),
        http_connections=float(settings.get("http_max_connections", 100)),
        process_workers=float(settings.get("process_pool_workers", 1)),
        cpus=float(len(pinning.get("app", [])) or 1),
        workers=float(record.get("server", {}).get("workers", 1)),
        overhead_ms=1000.0 / ceiling if ceiling else 0.0,
        cpu_ceiling_rps=ceiling,
    )


def predictions(run: Run, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` plus predicted_rps, binding, kind, ratio, finding and a sentence per row."""
    if table.empty:
        return table.assign(
            predicted_rps=[], binding=[], kind=[], ratio=[], finding=[], sentence=[]
        )
    ceil = ceilings(table, run)
    shapes = shapes_of(run)
    records = {s["name"]: s for s in run.scenarios}
    out: dict[str, list[Any]] = {
        k: [] for k in ("predicted_rps", "binding", "kind", "ratio", "finding", "sentence")
    }
    for row in table.itertuples():
        if is_baseline(run, row.scenario):
            kind_of = "def" if row.variant == "sync" else "async def"
            _unpredicted(
                out,
                "reference: CPU ceiling",
                f"{row.endpoint}: {row.rps:,.0f} RPS — the app's CPU ceiling for {kind_of} "
                f"endpoints {_served(run)}; the capacity model caps predictions with it",
                kind="reference",
            )
            continue
        if row.variant == "mix" or getattr(row, "mix", ""):
            _unpredicted(out, "mixed traffic", f"{row.endpoint}: see Mixed traffic")
            continue
        model = run.model(row.scenario, row.endpoint)
        record = records.get(row.scenario, {})
        if model.get("concurrency") == "":  # the scenario gave this endpoint no model
            _unpredicted(out, "no model given", f"{row.endpoint}: no model given (no prediction)")
            continue
        concurrency = model.get("concurrency", "users")
        shape = shapes.get(row.scenario, "")
        ceiling = ceil.get((shape, "sync" if concurrency == "threadpool" else "async"))
        try:
            pred: capacity.Prediction | None = capacity.predict(
                capacity.Model.from_record(model),
                int(row.users),
                context_for(record, run, ceiling),
                {**flatten(record.get("app", {}).get("extra", {})), **record.get("parameters", {})},
            )
        except capacity.ModelError:
            pred = None
        if pred is None or not math.isfinite(pred.rps) or pred.rps <= 0:
            _unpredicted(
                out,
                "not modelled",
                f"{row.endpoint}: no capacity model (the CPU ceiling was not measured in this run)",
            )
            continue
        ratio = row.rps / pred.rps
        sentence, binding, kind = pred.sentence(row.endpoint, row.rps), pred.binding, pred.kind
        cpu = row.app_cpu_share
        if ratio < RATIO_LOW and isinstance(cpu, float) and cpu >= CPU_BUSY and row.rps > 0:
            # The server says why: its CPU was busy, so this endpoint costs more CPU per request
            # than the baseline the model assumed. Name that cap, with the measured cost.
            per_request_ms = cpu / row.rps * 1000.0
            binding, kind = f"app CPU: {cpu:.0%} busy, {per_request_ms:.2f} ms/request", "cpu"
            allowed_by = "the baseline's CPU ceiling" if pred.binding == "CPU" else pred.binding
            sentence = (
                f"{row.endpoint}: {row.rps:,.0f} RPS = {ratio:.0%} of the {pred.rps:,.0f} that "
                f"{allowed_by} would allow — the app's CPU is the cap ({cpu:.0%} busy, "
                f"{per_request_ms:.2f} ms of CPU per request)"
            )
        out["predicted_rps"].append(pred.rps)
        out["binding"].append(binding)
        out["kind"].append(kind)
        out["ratio"].append(ratio)
        out["finding"].append(not RATIO_LOW <= ratio <= RATIO_HIGH)
        out["sentence"].append(sentence)
    return knees(table.assign(**out))


def knees(table: pd.DataFrame) -> pd.DataFrame:
    """The open model's rows (``rate`` > 0, ``users`` = its in-flight cap): the model's
    prediction at that cap is the knee, the most the endpoint can serve (``knee_rps``); what it
    should serve at an offered rate is the smaller of the two. NaN knee for the closed model."""
    if "rate" not in table.columns:
        return table.assign(knee_rps=np.nan)
    open_model = table["rate"] > 0
    knee = np.where(open_model, table["predicted_rps"], np.nan)
    predicted = np.where(open_model, np.fmin(table["rate"], knee), table["predicted_rps"])
    ratio = np.where(open_model, table["rps"] / predicted, table["ratio"])
    off = ~((ratio >= RATIO_LOW) & (ratio <= RATIO_HIGH)) & ~np.isnan(ratio)
    binding = [
        arrivals.in_flight_binding(str(b), int(u)) if o else b
        for b, u, o in zip(table["binding"], table["users"], open_model, strict=True)
    ]
    return table.assign(
        knee_rps=knee,
        predicted_rps=predicted,
        ratio=ratio,
        finding=np.where(open_model, off, table["finding"]),
        binding=binding,
        sentence=np.where(
            open_model, [_open_sentence(r) for r in table.itertuples()], table["sentence"]
        ),
    )


def _open_sentence(row: Any) -> str:
    """An open-model row in words: served of offered, and the model's knee (a row of the table
    before ``knees``: its ``predicted_rps`` is still the model's prediction at the cap)."""
    if not arrivals.is_open(row):
        return ""
    knee = (
        ""
        if math.isnan(row.predicted_rps)
        else f"; the knee (capacity model) is {row.predicted_rps:,.0f} req/s"
    )
    return f"{row.endpoint}: served {row.rps:,.0f} of {row.rate:,g} req/s offered{knee}"


def _unpredicted(out: dict[str, list[Any]], binding: str, sentence: str, kind: str = "") -> None:
    """A row without a prediction: a reference, no model given, or not modelled."""
    for key, value in (
        ("predicted_rps", np.nan),
        ("binding", binding),
        ("kind", kind),
        ("ratio", np.nan),
        ("finding", False),
        ("sentence", sentence),
    ):
        out[key].append(value)


def finding_text(row: Any) -> str:
    """Why a measurement is off its prediction, from the server-side signals it recorded."""
    where = f"{row.scenario} / {row.endpoint} @ {arrivals.level(row)}"
    base = (
        f"{where}: measured {row.rps:,.0f} RPS = {row.ratio:.0%} of the predicted "
        f"{row.predicted_rps:,.0f} ({row.binding})"
    )
    clues = []
    if row.ratio < RATIO_LOW:
        if row.loadgen_saturated:
            clues.append("the load generator was saturated")
        if isinstance(row.app_cpu_share, float) and row.app_cpu_share > 0.9:
            clues.append(
                f"the app used {row.app_cpu_share:.0%} of a CPU: per-request CPU cost "
                "is higher than the baseline's"
            )
        if isinstance(row.loop_lag_max_ms, float) and row.loop_lag_max_ms > 50:
            clues.append(f"the event loop lagged up to {row.loop_lag_max_ms:,.0f} ms")
        if row.errors:
            clues.append(f"{row.errors} requests failed")
        if not clues:
            clues.append("a limit the model does not know binds — see the server signals")
    else:
        clues.append("faster than the model: a limit it assumes does not bind")
    return f"{base} — {'; '.join(clues)}"


def pairs(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(scenario, a, b) pairs to compare within a scenario: every async endpoint against its sync
    twin (same label after the first word) or the first sync one, and each pitfall against the
    fix with the same name stem."""
    found = []
    for scenario in dict.fromkeys(table["scenario"]):
        rows = table[table["scenario"] == scenario]
        labels = list(dict.fromkeys(rows["endpoint"]))
        variants = dict(zip(rows["endpoint"], rows["variant"], strict=False))
        syncs = [e for e in labels if variants[e] == "sync"]
        for label in labels:
            if syncs and variants[label] in ("async", "antipattern"):
                # "async db query" meets "sync db query"; otherwise the first sync endpoint
                twin = "sync " + label.split(" ", 1)[-1]
                found.append((scenario, label, twin if twin in syncs else syncs[0]))
            if variants[label] == "pitfall":
                stem = label.split(" ", 1)[-1]
                fix = next((e for e in labels if variants[e] == "fixed" and e.endswith(stem)), None)
                if fix:
                    found.append((scenario, label, fix))
    return found


def comparisons(
    table: pd.DataFrame, bins: dict[tuple[str, str, int], np.ndarray]
) -> list[dict[str, Any]]:
    """Ratio with uncertainty and verdict for every pair, at every users level both have."""
    out = []
    for scenario, a, b in pairs(table):
        levels = sorted(
            set(table[(table["scenario"] == scenario) & (table["endpoint"] == a)]["users"])
            & set(table[(table["scenario"] == scenario) & (table["endpoint"] == b)]["users"])
        )
        for users in levels:
            xa, xb = bins.get((scenario, a, users)), bins.get((scenario, b, users))
            if xa is None or xb is None:
                continue
            result = stats.compare_bins(a, xa, b, xb)
            out.append(
                {
                    "scenario": scenario,
                    "users": users,
                    "a": a,
                    "b": b,
                    "ratio": result.ratio.estimate,
                    "low": result.ratio.low,
                    "high": result.ratio.high,
                    "p": result.p_value,
                    "verdict": result.verdict(),
                }
            )
    return out
