"""The runner's plan and the load generator's command line, without starting anything."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from harness.measure import loadgen
from harness.measure.plan import RunOptions, Step, estimate_s, plan
from harness.measure.runner import app_env
from locustfiles.protocol import LoadSettings
from scenarios import resolve
from scenarios.model import Scenario


@pytest.fixture()
def sleep() -> Scenario:
    _, (scenario,) = resolve("sleep")
    return scenario.with_overrides(users=(10, 50), repeat=2, duration_s=4.0, warmup_s=1.0)


def test_repeats_are_outermost_then_endpoints_then_users(sleep: Scenario) -> None:
    steps = list(plan(sleep))
    labels = [e.label for e in sleep.rendered_endpoints()]
    expected = [(r, e, u) for r in range(2) for e in labels for u in (10, 50)]
    assert [(s.repeat, s.label, s.users) for s in steps] == expected


def test_step_ids_are_unique_slugs_that_name_the_measurement(sleep: Scenario) -> None:
    steps = list(plan(sleep))
    ids = [s.id for s in steps]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "sleep--sync-sleep--u10--r0"
    assert all(i.startswith("sleep--") and "--u" in i and "--r" in i for i in ids)
    assert steps[-1].title == "sleep: async sleep @ 50 users (#2)"


def test_a_label_with_symbols_becomes_a_clean_slug(sleep: Scenario) -> None:
    endpoint = sleep.endpoints[0]
    odd = type(endpoint)(**{**endpoint.__dict__, "label": "Async (httpx) / 2×"})
    assert Step.solo(sleep, odd, 10, 0).id == "sleep--async-httpx-2--u10--r0"


def test_the_estimate_counts_every_window_and_start_up(sleep: Scenario) -> None:
    steps = len(list(plan(sleep)))
    assert estimate_s([sleep]) == pytest.approx(4.0 + steps * (1.0 + 4.0 + 2.5))


def test_app_env_names_every_setting_and_options_win(sleep: Scenario) -> None:
    scenario = sleep.with_overrides(settings={"threadpool_tokens": 20, "db_pool_size": 5})
    env = app_env(scenario, RunOptions(settings={"threadpool_tokens": 80}))
    assert env == {
        "BENCH_THREADPOOL_TOKENS": "80",
        "BENCH_DB_POOL_SIZE": "5",
        "BENCH_CPU_CALIBRATION_S": "0.5",  # the harness's, unless a setting says otherwise
    }
    quick = app_env(scenario, RunOptions(settings={"cpu_calibration_s": 0}))
    assert quick["BENCH_CPU_CALIBRATION_S"] == "0"


def test_locust_gets_all_users_at_once_and_a_backstop(sleep: Scenario, tmp_path: Path) -> None:
    job = next(iter(plan(sleep))).job(RunOptions(client="fasthttp", request_timeout_s=7.0))
    argv = loadgen.argv(job, "http://127.0.0.1:9999")
    assert argv[:3] == [sys.executable, "-m", "locust"]
    assert "FastEndpointUser" in argv and "--headless" in argv
    assert argv[argv.index("-u") + 1] == argv[argv.index("-r") + 1] == "10"
    assert argv[argv.index("-t") + 1] == f"{int(job.window_s + 120)}s"
    assert argv[argv.index("--host") + 1] == "http://127.0.0.1:9999"
    files = loadgen.Files.of(tmp_path, job.id)
    assert files.samples == tmp_path / "samples" / f"{job.id}.csv"
    settings = loadgen.settings(job, files)
    assert LoadSettings.from_env(settings.to_env()) == settings
    assert settings.timeout_s == 7.0 and settings.requests == job.requests


def test_the_open_model_plans_rates_at_the_in_flight_cap(sleep: Scenario) -> None:
    opened = replace(sleep.with_rates((100.0, 400.0)), max_in_flight=300, arrivals="poisson")
    steps = list(plan(opened))
    assert [(s.rate, s.users) for s in steps[:2]] == [(100.0, 300), (400.0, 300)]
    ids = [s.id for s in steps]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "sleep--sync-sleep--rate100--r0"  # apart from a users level's --u100
    assert steps[1].title == "sleep: sync sleep @ 400 req/s (#1)"
    job = steps[1].job(RunOptions())
    assert (job.rate, job.arrivals, job.max_in_flight, job.locust_users) == (
        400.0,
        "poisson",
        300,
        1,
    )
    argv = loadgen.argv(job, "http://127.0.0.1:1")
    assert loadgen.OPEN_USER in argv and argv[argv.index("-u") + 1] == "1"
    env = loadgen.settings(job, loadgen.Files.of(Path("/tmp/run"), job.id)).to_env()
    back = LoadSettings.from_env(env)
    assert (back.rate, back.arrivals, back.max_in_flight) == (400.0, "poisson", 300)


def test_a_websocket_endpoint_runs_its_users_and_its_idle_connections_first(
    tmp_path: Path,
) -> None:
    _, (idle,) = resolve("websocket-idle")
    steps = list(plan(idle.with_overrides(users=(10,))))
    none, thousand = steps[0].job(RunOptions()), steps[1].job(RunOptions())
    assert none.user_classes == ["WebSocketUser"] and none.locust_users == 10
    assert thousand.user_classes == ["IdleWebSocketUser", "WebSocketUser"]
    argv = loadgen.argv(thousand, "http://127.0.0.1:9999")
    assert argv[argv.index("-u") + 1] == argv[argv.index("-r") + 1] == "1010"
    settings = loadgen.settings(thousand, loadgen.Files.of(tmp_path, thousand.id))
    (spec,) = LoadSettings.from_env(settings.to_env()).requests
    assert (spec.protocol, spec.idle, spec.message) == ("websocket", 1000, "hello")


def test_the_shapes_of_a_matrix_take_turns_one_repeat_each(sleep: Scenario) -> None:
    from harness.measure.runner import passes
    from scenarios.shape import Matrix

    matrix = replace(sleep, matrix=Matrix.single().over({"workers": (1, 2)}))
    w1, w2 = matrix.expanded()
    _, (baseline,) = resolve("baseline")
    order = [(s.name, r) for s, r in passes([baseline, w1, w2])]
    assert order == [
        ("baseline", None),
        ("sleep-w1", 0),
        ("sleep-w2", 0),
        ("sleep-w1", 1),
        ("sleep-w2", 1),
    ]
    once = [(s.name, r) for s, r in passes([replace(w1, repeat=1), replace(w2, repeat=1)])]
    assert once == [("sleep-w1", None), ("sleep-w2", None)]
