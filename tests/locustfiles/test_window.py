"""The measurement window, on a fake clock: marks, CPU share, and which requests count."""

from __future__ import annotations

import pytest

from locustfiles import protocol as p
from locustfiles.protocol import WindowMeta
from locustfiles.window import InFlight, Window, in_window


class FakeClock:
    """Wall and CPU clocks that advance only when the window sleeps."""

    def __init__(self, start: float = 1000.0, cpu_share: float = 0.25) -> None:
        self.now, self.cpu, self.cpu_share = start, 0.0, cpu_share
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.cpu += seconds * self.cpu_share


def test_the_window_warms_up_measures_then_stops() -> None:
    clock, stopped = FakeClock(), []
    window = Window(2.0, 5.0, clock=lambda: clock.now, cpu_clock=lambda: clock.cpu)
    assert not window.started
    window.drive(clock.sleep, lambda: stopped.append(clock.now))
    meta = window.meta
    assert window.started and clock.sleeps == [2.0, 5.0]
    assert meta[p.SPAWNED_AT] == 1000.0
    assert (meta[p.MEASURE_START], meta[p.MEASURE_END]) == (1002.0, 1007.0)
    assert meta[p.LOADGEN_CPU_S] == 1.25 and meta[p.LOADGEN_CPU_SHARE] == 0.25
    assert stopped == [1007.0], "the test stops once, at the end of the window"


def test_requests_count_when_they_complete_inside_the_window_edges_included() -> None:
    samples = [
        (999.0, 1000.0, 200, 10, ""),  # completes at 1000.0: the start edge counts
        (1001.0, 500.0, 200, 10, ""),  # 1001.5
        (1004.0, 1000.0, 500, 10, "HTTPStatusError: HTTP 500"),  # 1005.0, an error
        (1004.5, 500.0, 200, 10, ""),  # 1005.0: the end edge counts
        (1004.9, 200.0, 200, 10, ""),  # 1005.1: after the end
        (998.0, 1500.0, 200, 10, ""),  # 999.5: warm-up
    ]
    assert in_window(samples, 1000.0, 1005.0) == (4, 1)


def test_close_writes_what_the_runner_reads_back() -> None:
    clock = FakeClock(cpu_share=0.95)
    window = Window(1.0, 2.0, clock=lambda: clock.now, cpu_clock=lambda: clock.cpu)
    window.drive(clock.sleep, lambda: None)
    samples = [(1001.5, 100.0, 200, 5, ""), (1002.0, 100.0, 0, 0, "TimeoutError: timed out")]
    meta = WindowMeta.from_dict(window.close(samples, cpu_warning=True))
    assert meta.complete and (meta.measure_start, meta.measure_end) == (1001.0, 1003.0)
    assert (meta.window_count, meta.errors) == (2, 1)
    assert meta.loadgen_cpu_share == pytest.approx(0.95) and meta.locust_cpu_warning
    assert meta.rps == 0.5  # one success over 2 s


def test_a_window_cut_short_is_not_complete() -> None:
    window = Window(1.0, 2.0, clock=lambda: 5.0, cpu_clock=lambda: 0.0)
    meta = WindowMeta.from_dict(window.close([(4.0, 1.0, 200, 1, "")], cpu_warning=False))
    assert not meta.complete and meta.window_count == 0 and window.meta[p.SAMPLES] == 1


def test_in_flight_knows_each_users_current_request() -> None:
    now = [10.0]
    in_flight = InFlight(clock=lambda: now[0])
    in_flight.begin(0, "/a")
    now[0] = 11.0
    in_flight.begin(1, "/b")
    in_flight.end(0)  # its sample arrived
    in_flight.end(7)  # a user with nothing in flight (or -1, unknown): nothing happens
    now[0] = 12.5
    in_flight.begin(0, "/a")  # the next request of user 0
    assert in_flight.snapshot() == [[11.0, "/b", 1], [12.5, "/a", 0]]  # oldest first


def test_the_window_records_the_requests_in_flight_at_its_end() -> None:
    clock = FakeClock()
    in_flight = InFlight(clock=lambda: clock.now)
    window = Window(
        2.0, 5.0, clock=lambda: clock.now, cpu_clock=lambda: clock.cpu, in_flight=in_flight
    )

    def sleep(seconds: float) -> None:  # users send while the window waits
        in_flight.begin(0, "/slow")  # at 1000.0 (warm-up) / 1002.0: still in flight at the end
        in_flight.begin(1, "/fast")
        clock.sleep(seconds / 2)
        in_flight.end(1)  # completes: not in flight
        clock.sleep(seconds / 2)

    window.drive(sleep, lambda: in_flight.begin(2, "/after"))  # after the end: not counted
    assert window.meta[p.MEASURE_END] == 1007.0
    assert window.meta[p.IN_FLIGHT_AT_END] == [[1002.0, "/slow", 0]]  # age 5 s at the end
    meta = window.close([], cpu_warning=False)
    assert meta[p.IN_FLIGHT_AT_END] == [[1002.0, "/slow", 0]]


def test_samples_with_a_user_column_count_the_same() -> None:
    samples = [(1001.0, 500.0, 200, 10, "", "/a", 3), (1004.9, 200.0, 200, 10, "", "/a", 4)]
    assert in_window(samples, 1000.0, 1005.0) == (1, 0)
