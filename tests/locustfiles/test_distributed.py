"""The distributed mode's pure parts: unique users, chunks, the merge, the workers' records and
the master's window on a fake clock, and the settings that travel from master to worker."""

from __future__ import annotations

from typing import Any

import pytest

from locustfiles import distributed as d
from locustfiles import protocol as p
from locustfiles.protocol import LoadSettings, RequestSpec, WindowMeta
from locustfiles.window import InFlight, Window, in_window


def row(start: float, elapsed_ms: float, user: int, error: str = "") -> list[Any]:
    return [start, elapsed_ms, 200, 10, error, "e", user, "", ""]


class FakeClock:
    def __init__(self, start: float = 1000.0, cpu_share: float = 0.5) -> None:
        self.now, self.cpu, self.cpu_share = start, 0.0, cpu_share
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.cpu += seconds * self.cpu_share


def test_user_indexes_are_unique_over_workers_and_cover_the_users() -> None:
    # 5 users on 2 workers: Locust gives 3 to one, 2 to the other (local indexes 0.., each)
    found = [d.global_user(u, 0, 2) for u in range(3)] + [d.global_user(u, 1, 2) for u in range(2)]
    assert sorted(found) == [0, 1, 2, 3, 4]
    assert d.global_user(-1, 1, 2) == -1, "an unknown user stays unknown"
    assert d.global_user(3, 0, 1) == 3, "one worker: indexes unchanged"


def test_a_tagged_row_gains_its_worker_and_a_global_user() -> None:
    tagged = d.tag([row(1.0, 5.0, 2)], worker=1, workers=3)
    assert tagged == [(1.0, 5.0, 200, 10, "", "e", 7, "", "", 1)]


def test_the_merge_orders_rows_by_completion_and_keeps_ties_in_order() -> None:
    a = (10.0, 500.0, 200, 1, "", "e", 0, "", "", 0)  # ends 10.5
    b = (10.2, 100.0, 200, 1, "", "e", 1, "", "", 1)  # ends 10.3
    c = (10.1, 200.0, 200, 1, "", "e", 2, "", "", 1)  # ends 10.3 too, after b in its worker
    assert d.merge([a, b, c]) == [b, c, a]


def test_the_outbox_sends_each_sample_once_in_bounded_chunks() -> None:
    samples = [tuple(row(float(i), 1.0, 0)) for i in range(7)]
    outbox = d.Outbox()
    first = outbox.take(samples[:3], limit=2)  # type: ignore[arg-type]
    assert [r[0] for r in first] == [0.0, 1.0]
    rest = outbox.chunks(samples, limit=2)  # type: ignore[arg-type]
    assert [[r[0] for r in chunk] for chunk in rest] == [[2.0, 3.0], [4.0, 5.0], [6.0]]
    assert outbox.chunks(samples, limit=2) == [[]], "nothing new: one empty (final) chunk"
    assert isinstance(first[0], list), "rows travel as lists (msgpack)"


def test_a_worker_measures_its_cpu_share_over_the_masters_window() -> None:
    clock = FakeClock(cpu_share=0.5)
    meta: dict[str, Any] = {}
    in_flight = InFlight(clock=lambda: clock.now)
    window = d.WorkerWindow(meta, in_flight, clock=lambda: clock.now, cpu_clock=lambda: clock.cpu)
    window.open(1000.0)
    assert p.MEASURE_START in meta and p.MEASURE_END not in meta, "the lag meter is inside"
    in_flight.begin(3, "e")
    clock.sleep(4.0)
    in_flight.begin(4, "e")  # started after the master's end, before the worker heard of it
    record = window.close(1003.9, cpu_warning=False, samples=12)
    assert record[p.LOADGEN_CPU_SHARE] == pytest.approx(0.5)
    assert record[p.LOADGEN_CPU_S] == pytest.approx(2.0)
    assert record[p.IN_FLIGHT_AT_END] == [[1000.0, "e", 3]]
    assert record[p.SAMPLES] == 12 and meta[p.MEASURE_END] == 1003.9


def test_a_worker_that_missed_the_start_reports_no_share() -> None:
    window = d.WorkerWindow({}, InFlight())
    assert window.close(5.0, cpu_warning=True, samples=0)[p.LOADGEN_CPU_SHARE] == 0.0


def final(share: float, lag: float, in_flight: list[list[Any]], ticks: int = 100) -> dict:
    return {
        "final": True,
        "rows": [],
        "meta": {
            p.LOADGEN_CPU_S: share * 2,
            p.LOADGEN_CPU_SHARE: share,
            p.LOADGEN_LAG_MAX_MS: lag,
            p.LOADGEN_LAG_P99_MS: lag / 2,
            p.LOADGEN_LAG_TICKS: ticks,
            p.LOCUST_CPU_WARNING: share > 0.9,
            p.IN_FLIGHT_AT_END: in_flight,
        },
    }


def test_the_master_keeps_every_workers_share_and_the_worst() -> None:
    gather = d.Gather(workers=2)
    gather.add(0, {"rows": [row(1.0, 2.0, 0), row(1.1, 2.0, 1, "boom")], "final": False})
    assert gather.missing() == [0, 1] and gather.errors == 1
    gather.add(1, final(0.95, 40.0, [[9.0, "e", 0]]))
    gather.add(0, final(0.30, 5.0, [[8.0, "e", 1]]))
    assert gather.missing() == []
    meta = gather.summary()
    assert meta[p.LOADGEN_CPU_SHARES] == [0.30, 0.95]
    assert meta[p.LOADGEN_CPU_SHARE] == 0.95, "the saturation flag judges the worst worker"
    assert meta[p.LOADGEN_LAG_MAX_MS] == 40.0 and meta[p.LOADGEN_LAG_P99_MS] == 20.0
    assert meta[p.LOADGEN_LAG_TICKS] == 200
    assert meta[p.LOCUST_CPU_WARNING] is True
    # every worker's requests in flight at the end, users made global (local × 2 + worker)
    assert meta[p.IN_FLIGHT_AT_END] == [[8.0, "e", 2], [9.0, "e", 1]]
    assert [w["worker"] for w in meta[p.WORKERS]] == [0, 1]
    assert p.LOADGEN_ERROR not in meta
    assert [r[6] for r in gather.rows] == [0, 2] and [r[9] for r in gather.rows] == [0, 0]


def test_a_worker_that_never_sent_its_final_chunk_is_an_error_naming_it() -> None:
    gather = d.Gather(workers=3)
    gather.add(1, final(0.2, 1.0, []))
    meta = gather.summary(wait_s=15.0)
    assert "worker(s) 0, 2 of 3 sent no final samples within 15s" in meta[p.LOADGEN_ERROR]
    assert meta[p.LOADGEN_CPU_SHARES] == [0.0, 0.2, 0.0]
    assert WindowMeta.from_dict({**meta, p.MEASURE_END: 1.0}).error == meta[p.LOADGEN_ERROR]


def test_the_masters_window_announces_its_edges_and_waits_for_every_final() -> None:
    clock = FakeClock(cpu_share=0.2)
    window = Window(1.0, 3.0, clock=lambda: clock.now, cpu_clock=lambda: clock.cpu)
    gather = d.Gather(workers=2)
    told: list[dict[str, float]] = []
    stopped: list[float] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if told and "end" in told[-1] and clock.now >= 1004.09:  # finals arrive a bit late
            for worker in gather.missing():
                gather.add(worker, final(0.1, 1.0, []))

    d.drive_master(window, gather, told.append, sleep, lambda: stopped.append(clock.now))
    assert told == [{"start": 1001.0}, {"end": 1004.0}]
    assert (window.meta[p.MEASURE_START], window.meta[p.MEASURE_END]) == (1001.0, 1004.0)
    assert stopped == [pytest.approx(1004.1, abs=d.POLL_S)], "stopped once every final came"
    assert window.meta[p.LOADGEN_CPU_SHARES] == [0.1, 0.1]
    assert window.meta[p.LOADGEN_MASTER_CPU_SHARE] == pytest.approx(0.2)


def test_the_masters_window_gives_up_on_a_silent_worker_after_the_wait() -> None:
    clock = FakeClock()
    window = Window(0.0, 1.0, clock=lambda: clock.now)
    stopped: list[float] = []
    gather = d.Gather(workers=1)
    d.drive_master(window, gather, lambda doc: None, clock.sleep, lambda: stopped.append(1), 2.0)
    assert stopped == [1] and p.LOADGEN_ERROR in window.meta
    assert clock.now == pytest.approx(1003.0, abs=d.POLL_S)


def test_merged_rows_count_in_the_window_as_one_process_would() -> None:
    gather = d.Gather(workers=2)
    gather.add(0, {"rows": [row(0.5, 600.0, 0), row(2.0, 10.0, 0)]})
    gather.add(1, {"rows": [row(1.0, 100.0, 0), row(0.2, 100.0, 0)]})
    merged = d.merge(gather.rows)
    assert in_window(merged, 1.0, 2.0) == (2, 0)  # ends 1.1 and 1.1; 0.3 and 2.01 are out


def test_the_settings_travel_as_one_json_text_unchanged() -> None:
    settings = LoadSettings(
        requests=(
            RequestSpec("a", "/a?x=1", headers=(("X-K", "v"),), body='{"k": 1}', weight=2.0),
            RequestSpec("b", "/b", method="POST", expect_status=(201,)),
        ),
        warmup_s=1.5,
        duration_s=7.0,
        samples_file="/master/samples.csv",
        timeout_s=3.0,
        max_in_flight=99,
    )
    assert LoadSettings.from_json(settings.to_json()) == settings
    with pytest.raises(ValueError):
        LoadSettings.from_json("[1, 2]")


def test_the_progress_document_says_how_many_workers_connected() -> None:
    doc = p.Progress.from_dict({p.T: 1.0, p.COUNT: 0, p.ERRORS: 0, p.WORKERS_CONNECTED: 1})
    assert doc.workers == 1 and doc.phase == "start-up"
    assert p.Progress.from_dict({}).workers == 0


def test_one_process_meta_has_no_per_worker_shares() -> None:
    meta = WindowMeta.from_dict({p.MEASURE_END: 2.0, p.LOADGEN_CPU_SHARE: 0.4})
    assert meta.loadgen_cpu_shares == () and meta.error == ""


def test_a_worker_that_heard_of_the_end_late_still_names_its_requests_in_flight_then() -> None:
    """End at 10.0, heard at 10.2: user 1's request of 9.95-10.05 completed meanwhile (a sample)
    and user 1 sent again at 10.1 (not the window's); user 0 is still waiting since 9.9."""
    rows = [
        (9.0, 50.0, 200, 1, "", "x", 1, "", "", ""),  # done long before the end
        (9.95, 100.0, 200, 1, "", "x", 1, "", "", ""),  # in flight at 10.0, done at 10.05
    ]
    current = [[9.9, "x", 0], [10.1, "x", 1]]
    assert d.in_flight_at(10.0, current, rows) == [[9.9, "x", 0], [9.95, "x", 1]]
    assert d.in_flight_at(10.0, current, []) == [[9.9, "x", 0]]
