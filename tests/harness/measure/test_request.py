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
