"""A guard that notices a disturbed measurement, and says why in words.

Five rules, each on what the run folder recorded for one measurement:

- **count**: the requests the client saw complete against the app's own count
  (``requests_total``, cumulative), both between the app's first and last snapshots inside the
  window (``completions``); more than 2 % apart, someone lost or invented requests. Skipped
  without the app's metrics.
- **stall**: the app had (almost) nothing in flight and served (almost) nothing for more than
  three poll intervals inside the window, while the load generator should have been loading it;
  in the open model, the generator sent nothing for 20 schedule spacings (``send_gaps``).
- **foreign CPU** and **steal**: the pinned cores were busy with processes that are not the
  run's (``harness/cpu_times.py``: per-CPU times minus our processes'), or the hypervisor took
  them (steal, where the kernel reports it).
- **loadgen lag**: the load generator's own 10 ms ticker woke late (``locustfiles/stall.py``).
- **above cap**: the measured RPS is above a hard cap of the capacity model (a thread pool, one
  request at a time on the loop, a pool or semaphore), which no steady state can exceed.

``judge`` applies them to every measurement; ``mark`` adds each table row's reasons as its
``disturbed`` column, so no renderer shows a disturbed number as a clean one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness import cpu_times
from harness.analysis import samples, send_gaps
from harness.analysis.completions import Completions
from harness.cpu_times import CpuSeries
from harness.results import Measurement, Run
from harness.server_samples import ServerSample, load_metrics, load_metrics_base
from locustfiles import protocol as p

COUNT_TOLERANCE = 0.02  # client vs app count, relative
COUNT_SLACK = 3  # requests: what a small count cannot tell from a loss
STALL_S = 1.5  # three poll intervals
IDLE_RATE = 0.10  # of the window's mean rate: an interval that served less is idle
IDLE_USERS = 0.10  # of the users: fewer in flight is "far below users" in a closed model
FOREIGN_SHARE = 0.10  # of the pinned cores' time
STEAL_SHARE = 0.05
LAG_MAX_MS = 250.0
LAG_P99_MS = 30.0
CAP_MARGIN = 1.05
HARD_CAPS = ("threadpool", "loop", "limit")  # not "users" (an estimate) nor "cpu" (measured)
ROLES = {"app": "the app's", "loadgen": "the load generator's"}


@dataclass(frozen=True)
class Reason:
    rule: str  # count | stall | foreign_cpu | steal | loadgen_lag | above_cap
    text: str


@dataclass(frozen=True)
class Disturbance:
    """A disturbed measurement and every reason found (only disturbed ones are kept)."""

    measurement: Measurement
    reasons: tuple[Reason, ...]

    @property
    def where(self) -> str:
        m = self.measurement
        return f"{m.scenario} / {m.endpoint} @ {m.level} (#{m.repeat + 1})"

    @property
    def text(self) -> str:
        return "; ".join(r.text for r in self.reasons)


def count_mismatch(
    client: Completions, series: Sequence[ServerSample], start: float, end: float, users: int = 0
) -> Reason | None:
    """The client's completions against the app's ``requests_total``, both counted between the
    same two snapshots of the app: its first inside the window and its last inside it. Counted
    at the app's own instants, a bursty rate or a generator that stalled near an edge moves both
    alike, and the load's start and stop (the requests cut off when the test ends) stay outside;
    what may differ is what the app had answered and the client not yet read at each instant
    (``users`` at most: a closed model's users, the open model's requests in flight) and the
    client's millisecond around each instant."""
    inside = sorted((s.t, float(s.requests_total)) for s in series if start <= s.t <= end)
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return None  # the window holds no interval between two snapshots
    (t0, v0), (t1, v1) = inside[0], inside[-1]
    counted, doubt = client.between(t0, t1)
    app = v1 - v0
    gap = counted - app
    allowed = max(COUNT_TOLERANCE * max(app, counted), COUNT_SLACK, users) + doubt
    if abs(gap) <= allowed:
        return None
    return Reason(
        "count",
        f"between the app's snapshots {t0 - start:.2f} s and {t1 - start:.2f} s into the window, "
        f"the client counted {counted:,} completions, the app {app:,.0f} "
        f"({gap / max(app, 1.0):+.1%}): requests were lost or counted twice",
    )


def generator_stall(
    series: Sequence[ServerSample], start: float, end: float, users: int
) -> Reason | None:
    """The longest stretch inside the window where the app had (almost) nothing in flight
    and served (almost) nothing, if longer than ``STALL_S``."""
    inside = sorted((s for s in series if start <= s.t <= end), key=lambda s: s.t)
    if len(inside) < 2 or inside[-1].t <= inside[0].t:
        return None
    mean_rate = (inside[-1].requests_total - inside[0].requests_total) / (
        inside[-1].t - inside[0].t
    )
    few = max(1.0, IDLE_USERS * users)
    longest = run = 0.0
    for a, b in zip(inside, inside[1:], strict=False):
        rate = (b.requests_total - a.requests_total) / max(b.t - a.t, 1e-9)
        idle = rate <= IDLE_RATE * mean_rate and a.inflight_now < few and b.inflight_now < few
        run = run + (b.t - a.t) if idle else 0.0
        longest = max(longest, run)
    if longest <= STALL_S:
        return None
    return Reason(
        "stall",
        f"the app had almost nothing in flight and served almost nothing for {longest:.1f} s "
        f"of the window with {users} users: the load generator stalled",
    )


def send_stall(run_dir: Path, m: Measurement, meta: Mapping[str, Any]) -> Reason | None:
    """The open model: the longest time in the window without a send (``send_gaps``), unless
    sends were dropped for the in-flight cap (then the app, not the generator, held them)."""
    if int(meta.get(p.DROPPED, m.dropped) or 0) or not m.samples:
        return None
    gap = samples.digest(run_dir, m).send_gap_s
    text = "" if math.isnan(gap) else send_gaps.stall_text(gap, m.rate)
    return Reason("stall", text) if text else None


def _bracket(cpu: CpuSeries, start: float, end: float) -> tuple[Any, Any] | None:
    """The readings that cover the window best while every process of ours was alive: the
    last one at or before its start (else the first after), the last one at or before its end."""
    readings = sorted(cpu.readings, key=lambda r: r.t)
    before = [r for r in readings if r.t <= start]
    first = before[-1] if before else next((r for r in readings if r.t >= start), None)
    inside = [r for r in readings if r.t <= end]
    if first is None or not inside or inside[-1].t - first.t < 0.5:
        return None
    return first, inside[-1]


def foreign_cpu(cpu: CpuSeries | None, start: float, end: float) -> list[Reason]:
    """Time on the pinned cores that no process of ours used, and the hypervisor's steal."""
    if cpu is None:
        return []
    found = _bracket(cpu, start, end)
    if found is None:
        return []
    a, b = found
    span = b.t - a.t
    out = []

    def foreign(cpus: Sequence[int]) -> float:
        """Share of ``cpus`` used by processes not ours over the window."""
        busy = sum(b.busy_s[c] - a.busy_s[c] for c in cpus)
        ours = b.ours_within(cpus) - a.ours_within(cpus)
        floating = b.ours_elsewhere(cpus) - a.ours_elsewhere(cpus)  # e.g. the harness itself
        return (busy - ours - floating) / (span * len(cpus))

    roles = {
        role: cpus
        for role, cpus in cpu.pinned.items()
        if cpus and all(c in a.busy_s and c in b.busy_s for c in cpus)
    }
    pool = sorted({c for cpus in roles.values() for c in cpus})
    # Judged over all the pinned cores together: the kernel charges some of one core's work to
    # another (a quiet async db run read -13 % on the app's core and +14 % on the generator's),
    # so one core alone gives false alarms; the core that took the most is named.
    if pool and foreign(pool) > FOREIGN_SHARE:
        role = max(roles, key=lambda r: foreign(roles[r]))
        cpus = roles[role]
        out.append(
            Reason(
                "foreign_cpu",
                f"other processes used {foreign(cpus):.0%} of {ROLES.get(role, role)} CPU "
                f"{','.join(map(str, cpus))} during the window: keep the machine idle while "
                "measuring",
            )
        )
    every = cpu.cpus
    if every and all(c in a.steal_s and c in b.steal_s for c in every):
        steal = sum(b.steal_s[c] - a.steal_s[c] for c in every) / (span * len(every))
        if steal > STEAL_SHARE:
            out.append(
                Reason(
                    "steal",
                    f"the hypervisor took {steal:.0%} of the pinned CPUs (steal) during the "
                    "window: the virtual machine's neighbours were busy",
                )
            )
    return out


def loadgen_lag(meta: Mapping[str, Any]) -> Reason | None:
    """The load generator's ticker woke too late (its core or its process was stalled)."""
    worst = float(meta.get(p.LOADGEN_LAG_MAX_MS, 0.0))
    p99 = float(meta.get(p.LOADGEN_LAG_P99_MS, 0.0))
    if worst < LAG_MAX_MS and p99 < LAG_P99_MS:
        return None
    return Reason(
        "loadgen_lag",
        f"the load generator's 10 ms timer woke up to {worst:,.0f} ms late (p99 {p99:,.0f} ms): "
        "it was not running when it should have been sending",
    )


def above_cap(rps: float, predicted: float, kind: str, binding: str) -> Reason | None:
    """Measured throughput above a hard cap of the capacity model."""
    if kind not in HARD_CAPS or not math.isfinite(predicted) or predicted <= 0:
        return None
    if rps <= predicted * CAP_MARGIN:
        return None
    return Reason(
        "above_cap",
        f"{rps:,.1f} RPS is above the hard cap of {predicted:,.1f} ({binding}), which no steady "
        "state can exceed: the window is too short for so bursty a system, or requests were "
        "counted that did not belong to it; use a longer --duration",
    )


def window_meta(run_dir: Path, m: Measurement) -> dict[str, Any]:
    """The recorder's window metadata of ``m`` ({} when missing or unreadable)."""
    name = m.samples or f"samples/{m.id}.csv"
    path = run_dir / name.removesuffix(".csv")
    try:
        doc = json.loads(path.with_name(path.name + ".meta.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def rules(
    run_dir: Path, m: Measurement, rows: pd.DataFrame, table: pd.DataFrame
) -> tuple[Reason, ...]:
    """Every rule on one measurement; ``rows`` is its summary row, ``table`` the run's."""
    meta = window_meta(run_dir, m)
    series = load_metrics(run_dir, m)
    base = load_metrics_base(run_dir, m)
    points = ([base] if base is not None else []) + series
    start, end = m.window_start, m.window_end
    found: list[Reason | None] = []
    # at once on either side of an edge: a closed model's users; the open model's requests in
    # flight as the generator saw them at most (not its cap, thousands it never reached)
    batch = int(meta.get(p.MAX_IN_FLIGHT_SEEN, m.users)) if m.rate else m.users
    if m.samples and points:
        client = samples.digest(run_dir, m).completions
        found.append(count_mismatch(client, points, start, end, batch))
    if m.rate:  # the open model's own evidence: a gap in the actual sends
        found.append(send_stall(run_dir, m, meta))
    else:
        found.append(generator_stall(series, start, end, m.users))
    found += foreign_cpu(cpu_times.load(run_dir / m.cpu) if m.cpu else None, start, end)
    found.append(loadgen_lag(meta))
    mine = rows[rows["id"] == m.id] if len(rows) else rows
    if len(mine) and len(table) and "kind" in table:
        row = mine.iloc[0]
        key = (table["scenario"] == m.scenario) & (table["endpoint"] == m.endpoint)
        key &= (table["users"] == m.users) & (table.get("rate", 0.0) == m.rate)
        model = table[key]
        if len(model):
            cap = model.iloc[0]
            # the open model's prediction is min(offered, knee): its hard cap is the knee
            limit = cap.get("knee_rps") if m.rate else cap["predicted_rps"]
            found.append(above_cap(float(row["rps"]), float(limit), cap["kind"], cap["binding"]))
    return tuple(r for r in found if r is not None)


def judge(run_dir: Path, run: Run, summary: pd.DataFrame, table: pd.DataFrame) -> list[Disturbance]:
    """The run's disturbed measurements (of those that ended well), in run order."""
    out = []
    for m in run.measurements:
        if m.status != "ok":
            continue
        reasons = rules(run_dir, m, summary, table)
        if reasons:
            out.append(Disturbance(m, reasons))
    return out


def mark(table: pd.DataFrame, summary: pd.DataFrame, found: Sequence[Disturbance]) -> pd.DataFrame:
    """``table`` plus ``disturbed``: per row, the reasons of its disturbed measurements ("#2:
    …" when it has several repeats); [] for a clean row. A mix's parts share the mix's."""
    if not len(table):
        return table.assign(disturbed=[])
    by_id = {d.measurement.id: d for d in found}
    marks = []
    for row in table.itertuples():
        mine = summary[
            (summary["scenario"] == row.scenario)
            & (summary["endpoint"] == row.endpoint)
            & (summary["users"] == row.users)
            & (summary.get("rate", 0.0) == getattr(row, "rate", 0.0))
        ]
        texts = []
        for sid in mine["id"]:
            d = by_id.get(sid) or by_id.get(_mix_of(str(sid), by_id))
            if d is None:
                continue
            prefix = f"#{d.measurement.repeat + 1}: " if row.repeats > 1 else ""
            texts += [prefix + r.text for r in d.reasons]
        marks.append(texts)
    return table.assign(disturbed=marks)


def _mix_of(sid: str, by_id: Mapping[str, Disturbance]) -> str:
    """The id of the mix measurement a part's id (``<mix id>--<endpoint>``) belongs to."""
    return next((i for i in by_id if sid.startswith(f"{i}--")), "")


MARK = "⚠ disturbed"


def rps_cell(rps: float, reasons: Sequence[str] | None, digits: int = 1) -> str:
    """A row's RPS as the renderers show it: never as a clean number when it was disturbed."""
    text = f"{rps:,.{digits}f}"
    return f"{text} {MARK}" if reasons else text


def lines(found: Sequence[Disturbance], measurements: Sequence[Measurement] = ()) -> list[str]:
    """One line per disturbed measurement (where, and why), then one per attempt that was
    discarded and measured again (``--retry-disturbed``)."""
    out = [f"{d.where}: {d.text}" for d in found]
    for m in measurements:
        if m.status == "superseded":
            where = f"{m.scenario} / {m.endpoint} @ {m.level} (#{m.repeat + 1})"
            out.append(f"{where}: attempt {m.attempt + 1} discarded and measured again — {m.error}")
    return out


def guard(run_dir: Path, m: Measurement) -> list[str]:
    """Why a measurement just measured is disturbed ([] if clean): the runner's
    ``--retry-disturbed`` asks. Every rule but the cap's, which needs the whole run's table."""
    return [r.text for r in rules(run_dir, m, pd.DataFrame(), pd.DataFrame())]
