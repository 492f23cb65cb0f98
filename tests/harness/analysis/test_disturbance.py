"""The disturbance guard's rules, each on a small recorded series: snapshots, CPU readings,
the generator's window metadata, a capacity model's cap."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import cpu_times, results
from harness.analysis import disturbance
from harness.analysis.analyze import analyze
from harness.analysis.completions import Completions
from harness.cpu_times import CpuSeries, CpuTimes
from harness.server_samples import ServerSample
from locustfiles import protocol as p

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "run-small"
START, END = 100.0, 104.0


def snap(t: float, total: int, inflight: float = 10.0) -> ServerSample:
    return ServerSample.from_snapshot(
        {"t": t, "requests_total": total, "inflight": {"now": inflight}}
    )


def steady(rate: float = 100.0, t0: float = 98.0, t1: float = 106.0) -> list[ServerSample]:
    """Snapshots every 0.5 s of an app serving ``rate`` requests a second from t0."""
    out, t = [], t0
    while t <= t1:
        out.append(snap(t, round((t - t0) * rate)))
        t += 0.5
    return out


# --- a: the client's count against the app's ----------------------------------------------------


def client(ends: Any) -> Completions:
    return Completions.of(np.asarray(ends, dtype=float))


def steady_ends(rate: float = 100.0, t0: float = 98.0, t1: float = 106.0) -> np.ndarray:
    """The client's completions of an app serving ``rate`` a second from t0 (as ``steady``)."""
    return t0 + (np.arange(round((t1 - t0) * rate)) + 0.5) / rate


def test_counts_that_agree_are_clean_whatever_the_window() -> None:
    ends = steady_ends()
    assert disturbance.count_mismatch(client(ends), steady(), START + 0.2, END + 0.2) is None
    assert disturbance.count_mismatch(client(ends), steady(), START, END) is None
    kept = np.delete(ends, np.arange(300, 308))  # 8 of 400 (2 %): within the tolerance
    assert disturbance.count_mismatch(client(kept), steady(), START, END) is None


def test_a_client_that_lost_requests_is_disturbed() -> None:
    ends = steady_ends()
    lost = np.delete(ends, np.arange(250, 290))  # 40 of the 400 between the snapshots
    reason = disturbance.count_mismatch(client(lost), steady(), START, END)
    assert reason is not None and reason.rule == "count"
    assert "the client counted 360 completions, the app 400 (-10.0%)" in reason.text
    assert "between the app's snapshots 0.00 s and 4.00 s into the window" in reason.text


def test_a_client_that_counted_twice_is_disturbed() -> None:
    ends = steady_ends()
    twice = np.concatenate([ends, ends[250:290]])
    reason = disturbance.count_mismatch(client(twice), steady(), START, END)
    assert reason is not None and "+10.0%" in reason.text


def test_requests_answered_but_not_yet_read_are_allowed_for() -> None:
    """10 users: the app answered 10 just before its snapshot at the window's start, and the
    client read them 50 ms after it; the client is one batch ahead of the app in the window."""
    ends = steady_ends(50.0)
    ends[(ends > START - 0.2) & (ends <= START)] = START + 0.05
    assert disturbance.count_mismatch(client(ends), steady(50.0), START, END, users=10) is None
    reason = disturbance.count_mismatch(client(ends), steady(50.0), START, END)
    assert reason is not None and "the client counted 210 completions, the app 200" in reason.text


def test_a_generator_that_stalled_at_the_windows_end_is_not_a_loss() -> None:
    """Seen in CI on a WebSocket echo (10 users, a VM with 48 % steal): the generator stalled
    for most of the last snapshot interval, which held 89 completions where the one before held
    599. The window's edge interpolated between the snapshots read the app 8.2 % high; counted
    at the app's own instants, client and app agree to within the 10 users."""
    offsets = (-0.639, -0.139, 0.361, 0.869, 1.367, 1.890, 2.369)
    totals = (2966, 3393, 3878, 4586, 5220, 5819, 5908)
    series = [snap(START + dt, total) for dt, total in zip(offsets, totals, strict=True)]
    ends: list[float] = []
    for (a, va), (b, vb) in zip(
        zip(offsets, totals, strict=True), zip(offsets[1:], totals[1:], strict=True), strict=False
    ):
        n = vb - va
        span = (b - a) * (0.2 if vb - va < 100 else 1.0)  # the last interval: all at its start
        ends += list(START + a + span * (np.arange(n) + 0.5) / n)
    window_end = START + 2.069
    assert disturbance.count_mismatch(client(ends), series, START, window_end, 10) is None
    lost = np.delete(np.asarray(ends), np.arange(1000, 1100))
    assert disturbance.count_mismatch(client(lost), series, START, window_end, 10) is not None


def test_the_load_starting_and_stopping_outside_the_snapshots_is_not_a_mismatch() -> None:
    """The first snapshot after the test's end saw the 10 requests the client cut off then
    (answered by the app, never read); it is outside the window, so it is not counted."""
    series = [*steady(t1=104.0), snap(104.4, 610)]
    ends = steady_ends(t1=104.0)
    assert disturbance.count_mismatch(client(ends), series, START, 104.2) is None


def test_no_count_rule_without_two_snapshots_inside_the_window() -> None:
    one_inside = [snap(99.0, 0), snap(102.0, 300), snap(105.0, 600)]
    assert disturbance.count_mismatch(client([100.5]), one_inside, START, END) is None
    assert disturbance.count_mismatch(client([100.5]), [], START, END) is None


def test_completions_are_counted_to_the_millisecond_with_the_bin_as_doubt() -> None:
    done = client([10.0, 10.0102, 10.0108, 10.5])
    assert done.between(9.0, 10.0105) == (1, 2)  # 10.0102 and 10.0108 share the instant's bin
    assert done.between(10.002, 10.6) == (3, 0)
    assert done.between(9.0, 11.0) == (4, 0) and done.total == 4
    assert client([]).between(0.0, 1.0) == (0, 0)


# --- b: a generator stall seen from the app -----------------------------------------------------


def stalled(from_t: float, to_t: float, inflight: float = 0.0) -> list[ServerSample]:
    """100 requests/s with 10 in flight, except nothing between from_t and to_t."""
    out, total, t = [], 0, 98.0
    while t <= 106.0:
        idle = from_t < t <= to_t
        total += 0 if idle else 50
        out.append(snap(t, total, inflight if from_t <= t <= to_t else 10.0))
        t += 0.5
    return out


def test_an_idle_app_for_two_seconds_is_a_stall() -> None:
    reason = disturbance.generator_stall(stalled(101.0, 103.0), START, END, users=10)
    assert reason is not None and reason.rule == "stall" and "2.0 s" in reason.text


def test_far_below_users_counts_as_idle_too() -> None:
    series = stalled(101.0, 103.0, inflight=3.0)
    assert disturbance.generator_stall(series, START, END, users=100) is not None
    assert disturbance.generator_stall(series, START, END, users=10) is None  # 3 of 10: busy


def test_a_short_pause_or_a_steady_app_is_no_stall() -> None:
    assert disturbance.generator_stall(stalled(101.0, 102.0), START, END, users=10) is None
    assert disturbance.generator_stall(steady(), START, END, users=10) is None


def test_a_pause_outside_the_window_is_not_counted() -> None:
    assert disturbance.generator_stall(stalled(104.0, 106.0), START, END, users=10) is None


# --- c: foreign CPU and steal on the pinned cores -----------------------------------------------


def reading(t: float, busy0: float, busy1: float, ours: dict[str, float], steal: float = 0.0):
    return CpuTimes.from_dict(
        {
            "t": t,
            "busy_s": {"0": busy0, "1": busy1},
            "steal_s": {"0": steal, "1": steal},
            "ours_s": ours,
        }
    )


def cpu_series(foreign1: float = 0.0, steal: float = 0.0) -> CpuSeries:
    """Readings every second from 99 to 105: the app busy on CPU 0, Locust half of CPU 1, the
    harness (unpinned) 5 %, and ``foreign1`` of CPU 1 used by someone else."""
    readings = []
    for i, t in enumerate(range(99, 106)):
        ours = {"0": 0.9 * i, "1": 0.5 * i, "0,1": 0.05 * i}
        readings.append(reading(float(t), 0.92 * i, (0.5 + 0.05 + foreign1) * i, ours, steal * i))
    return CpuSeries({"app": (0,), "loadgen": (1,)}, tuple(readings))


def test_our_own_processes_are_not_foreign() -> None:
    assert disturbance.foreign_cpu(cpu_series(), START, END) == []


def test_a_hog_on_the_loadgen_core_is_named() -> None:
    (reason,) = disturbance.foreign_cpu(cpu_series(foreign1=0.45), START, END)
    assert reason.rule == "foreign_cpu"
    assert "45%" in reason.text and "load generator's CPU 1" in reason.text


def test_work_charged_to_the_other_pinned_core_is_not_foreign() -> None:
    """Seen on a quiet async db run: the app's core read 13 % less than the app used and the
    generator's 14 % more (the kernel charges some work to the other core); none is foreign."""
    readings = []
    for i, t in enumerate(range(99, 106)):
        ours = {"0": 0.96 * i, "1": 0.25 * i, "0,1": 0.02 * i}
        readings.append(reading(float(t), 0.83 * i, (0.25 + 0.02 + 0.14) * i, ours))
    series = CpuSeries({"app": (0,), "loadgen": (1,)}, tuple(readings))
    assert disturbance.foreign_cpu(series, START, END) == []


def test_steal_is_reported_where_the_kernel_counts_it() -> None:
    reasons = disturbance.foreign_cpu(cpu_series(steal=0.2), START, END)
    assert [r.rule for r in reasons] == ["steal"] and "20%" in reasons[0].text


def test_no_cpu_readings_no_cpu_rule() -> None:
    assert disturbance.foreign_cpu(None, START, END) == []
    one = CpuSeries({"app": (0,)}, cpu_series().readings[:1])
    assert disturbance.foreign_cpu(one, START, END) == []


def test_proc_stat_is_parsed_per_cpu() -> None:
    text = (
        "cpu  300 0 100 900 0 0 0 0 0 0\n"
        "cpu0 100 10 50 400 7 1 2 30 0 0\n"
        "cpu1 200 0 50 500 0 0 0 0 0 0\n"
        "intr 12345\n"
    )
    busy, steal = cpu_times.parse_proc_stat(text, 100.0)
    assert busy == {0: 1.6, 1: 2.5} and steal == {0: 0.3, 1: 0.0}


def test_readings_survive_a_round_trip(tmp_path: Path) -> None:
    series = cpu_series(foreign1=0.2)
    cpu_times.save(tmp_path / "c.json", series.pinned, series.readings)
    assert cpu_times.load(tmp_path / "c.json") == series
    assert cpu_times.load(tmp_path / "nothing.json") is None


# --- d: the generator's own timer ---------------------------------------------------------------


def test_a_late_timer_is_a_stalled_generator() -> None:
    late = disturbance.loadgen_lag({p.LOADGEN_LAG_MAX_MS: 480.0, p.LOADGEN_LAG_P99_MS: 12.0})
    assert late is not None and "480 ms" in late.text
    assert disturbance.loadgen_lag({p.LOADGEN_LAG_MAX_MS: 20.0, p.LOADGEN_LAG_P99_MS: 45.0})
    assert disturbance.loadgen_lag({p.LOADGEN_LAG_MAX_MS: 20.0, p.LOADGEN_LAG_P99_MS: 3.0}) is None
    assert disturbance.loadgen_lag({}) is None  # runs before the timer existed


# --- e: above a hard cap ------------------------------------------------------------------------


def test_above_a_hard_cap_says_why_and_what_to_do() -> None:
    reason = disturbance.above_cap(11.0, 10.0, "loop", "the event loop: 1 at a time")
    assert reason is not None and "--duration" in reason.text and "10.0" in reason.text
    assert disturbance.above_cap(10.4, 10.0, "loop", "x") is None  # within 5 %
    assert disturbance.above_cap(500.0, 100.0, "users", "users: 10") is None  # an estimate
    assert disturbance.above_cap(500.0, 100.0, "cpu", "CPU") is None
    assert disturbance.above_cap(500.0, math.nan, "threadpool", "x") is None


# --- the whole run: judged and marked -----------------------------------------------------------


def test_the_recorded_runs_are_clean() -> None:
    found = analyze(FIXTURE)
    assert found.disturbed == []
    assert all(d == [] for d in found.table["disturbed"])


def test_a_disturbed_measurement_marks_its_row(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    run = results.load(run_dir)
    m = next(m for m in run.measurements if m.id == "sleep--async-sleep--u10--r1")
    meta_path = run_dir / "samples" / f"{m.id}.meta.json"
    meta = json.loads(meta_path.read_text())
    meta[p.LOADGEN_LAG_MAX_MS] = 900.0
    meta_path.write_text(json.dumps(meta))
    found = analyze(run_dir)
    assert [d.measurement.id for d in found.disturbed] == [m.id]
    row = found.table[found.table["endpoint"] == "async sleep"].iloc[0]
    assert len(row["disturbed"]) == 1 and row["disturbed"][0].startswith("#2: ")
    assert any("disturbed" in w and "900 ms" in w for w in found.warnings)
    assert disturbance.rps_cell(row["rps"], row["disturbed"]).endswith(disturbance.MARK)


def test_marking_an_empty_table_adds_the_column() -> None:
    assert "disturbed" in disturbance.mark(pd.DataFrame(), pd.DataFrame(), [])


def test_a_retried_measurement_uses_its_last_attempt_and_lists_the_discarded(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    doc = json.loads((run_dir / "results.json").read_text())
    first = next(m for m in doc["measurements"] if m["id"] == "sleep--async-sleep--u10--r1")
    again = {**first, "id": first["id"] + "--a1", "attempt": 1}
    first.update(status="superseded", error="disturbed: the load generator stalled")
    doc["measurements"].append(again)
    (run_dir / "results.json").write_text(json.dumps(doc))
    found = analyze(run_dir)
    row = found.table[found.table["endpoint"] == "async sleep"].iloc[0]
    assert row["repeats"] == 2, "the discarded attempt is not tabulated"
    assert found.disturbed == [] and not any("failed" in w for w in found.warnings)
    (line,) = disturbance.lines(found.disturbed, found.run.measurements)
    assert "attempt 1 discarded and measured again" in line and "stalled" in line
