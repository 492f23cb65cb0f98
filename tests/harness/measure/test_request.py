"""``prepare``: every option checked in one place, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.measure.request import OptionError, RunRequest, prepare


def test_defaults_resolve_a_scenario_and_add_the_calibration() -> None:
    prepared = prepare(RunRequest("sleep"))
    assert prepared.label == "sleep"
    assert [s.name for s in prepared.scenarios] == ["calibration", "sleep"]
    calibration = prepared.scenarios[0]
    assert calibration.users == (50,) and calibration.duration_s == 3.0
    assert prepared.options.client == "raw" and prepared.options.request_timeout_s == 30.0
    assert prepared.options.services.database == "postgres"


def test_overrides_reach_every_scenario_and_settings_the_options() -> None:
    request = RunRequest(
        "quick",
        users="5,7",
        duration="2s",
        warmup="500ms",
        repeat=2,
        out=Path("elsewhere"),
        threadpool_tokens=80,
        params=("ms=50",),
        settings=("db_pool_size=10",),
        upstream_latency="20ms",
        calibrate=False,
    )
    prepared = prepare(request)
    assert prepared.label == "quick"
    for scenario in prepared.scenarios:
        assert scenario.users == (5, 7) and scenario.duration_s == 2.0
        assert scenario.warmup_s == 0.5 and scenario.repeat == 2
        assert scenario.parameters["ms"] == 50 and scenario.parameters["latency_ms"] == 20
    assert dict(prepared.options.settings) == {"db_pool_size": 10, "threadpool_tokens": 80}
    assert prepared.options.out == Path("elsewhere")


def test_a_baseline_run_needs_no_calibration() -> None:
    assert [s.name for s in prepare(RunRequest("baseline")).scenarios] == ["baseline"]


@pytest.mark.parametrize(
    ("changes", "option", "words"),
    [
        ({"users": "0"}, "--users", "1..5000"),
        ({"duration": "0.5s"}, "--duration", "at least 1s"),
        ({"duration": "soon"}, "--duration", "'soon'"),
        ({"client": "wrk"}, "--client", "'wrk' is not raw or fasthttp"),
        ({"database": "mysql"}, "--database", "'mysql' is not postgres or sqlite"),
        ({"database_url": "mysql://x"}, "--database-url", "postgresql://"),
        ({"upstream_latency": "11s"}, "--upstream-latency", "at most 10s"),
        ({"timeout": "x"}, "--timeout", "'x'"),
        ({"params": ("1x=2",)}, "--param", "KEY=VALUE"),
        ({"settings": ("nope=1",)}, "--setting", "unknown nope"),
        ({"settings": ("db_pool_size=0",)}, "--setting", "greater"),
        ({"params": ("nosuch=5",)}, "--param", "nosuch is not a parameter here; known: ms"),
        ({"timeout": "0s"}, "--timeout", "must be 100ms..600s"),
        ({"timeout": "50ms"}, "--timeout", "must be 100ms..600s"),
        ({"out": ""}, "--out", "must name a folder"),
    ],
)
def test_a_bad_option_is_one_error_naming_it(changes: dict, option: str, words: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(OptionError) as raised:
        prepare(RunRequest("sleep", **changes))
    message = str(raised.value)
    assert message.startswith(f"Invalid value for {option}: ") and words in message
    assert message.endswith("(see: bench run --help)") and "\n" not in message


def test_out_must_be_a_folder_we_can_write(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for out, words in ((a_file, "is a file"), (a_file / "sub", "is under a file")):
        with pytest.raises(OptionError, match=words):
            prepare(RunRequest("sleep", out=out))
    assert prepare(RunRequest("sleep", out=tmp_path / "new" / "deeper")).options.out == (
        tmp_path / "new" / "deeper"
    )
    assert not (tmp_path / "new").exists(), "checking makes no folder"


def test_a_list_of_workers_is_a_matrix_with_a_calibration_per_shape() -> None:
    prepared = prepare(RunRequest("sleep", workers="1,2"))
    names = [s.name for s in prepared.scenarios]
    assert names == ["calibration-w1", "calibration-w2", "sleep-w1", "sleep-w2"]
    assert [s.server.workers for s in prepared.scenarios] == [1, 2, 1, 2]
    assert {s.base_name for s in prepared.scenarios} == {"calibration", "sleep"}


def test_one_shape_keeps_the_scenario_name_and_one_calibration() -> None:
    prepared = prepare(RunRequest("sleep", workers="2", loop="asyncio", http="h11"))
    assert [s.name for s in prepared.scenarios] == ["calibration", "sleep"]
    shape = prepared.scenarios[1].server
    assert (shape.workers, shape.loop, shape.http) == (2, "asyncio", "h11")
    assert prepared.scenarios[0].server == shape  # calibrated as it is measured


def test_a_baseline_measured_with_the_shape_needs_no_calibration() -> None:
    prepared = prepare(RunRequest("baseline", workers="1,2"))
    assert [s.name for s in prepared.scenarios] == ["baseline-w1", "baseline-w2"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"workers": "0"}, "Invalid value for --workers: must be 1..64, got 0"),
        ({"workers": "two"}, "Invalid value for --workers: expected whole numbers"),
        ({"workers": "2,2"}, "Invalid value for --workers: a value is repeated"),
        ({"loop": "trio"}, "Invalid value for --loop: 'trio' is not one of"),
        ({"http": "h3"}, "Invalid value for --http: 'h3' is not one of"),
        ({"server": "daphne"}, "Invalid value for --server: 'daphne' is not one of"),
        (
            {"workers": "2", "target": "http://127.0.0.1:9"},
            "Invalid value for --workers: the server at --target is yours",
        ),
    ],
)
def test_a_bad_shape_option_is_one_line_naming_it(fields: dict[str, str], message: str) -> None:
    with pytest.raises(OptionError, match=message.replace("(", r"\(")):
        prepare(RunRequest("sleep", **fields))  # type: ignore[arg-type]


def test_a_server_that_is_not_installed_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("scenarios.shape.installed", lambda module: module != "uvicorn_worker")
    with pytest.raises(OptionError, match="--server: gunicorn needs the package 'uvicorn-worker'"):
        prepare(RunRequest("sleep", server="gunicorn"))


def test_idle_websocket_connections_are_held_by_one_load_generator_process() -> None:
    with pytest.raises(OptionError, match="'echo, 1000 idle' holds idle WebSocket connections"):
        prepare(RunRequest("websocket-idle", loadgen_processes=2))
    prepare(RunRequest("websocket", loadgen_processes=2))  # active connections split fine
