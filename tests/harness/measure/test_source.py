"""``--app``/``--factory``/``--app-dir``/``--env``/``--target``: checked before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.measure.app import Source
from harness.measure.request import OptionError, RunRequest, prepare
from scenarios import resolve


def test_an_app_is_served_instead_of_the_bundled_one_and_is_not_calibrated(
    tmp_path: Path,
) -> None:
    prepared = prepare(
        RunRequest(
            "sleep", app="pkg.main:create", factory=True, app_dir=str(tmp_path), env=("A=1",)
        )
    )
    source = prepared.options.source
    assert (source.kind, source.app, source.factory) == ("app", "pkg.main:create", True)
    assert source.app_dir == str(tmp_path) and dict(source.env) == {"A": "1"}
    assert [s.name for s in prepared.scenarios] == ["sleep"]  # no calibration of another app


def test_a_target_is_normalised() -> None:
    prepared = prepare(RunRequest("sleep", target="http://127.0.0.1:8000/"))
    assert prepared.options.source == Source(target="http://127.0.0.1:8000")
    assert prepared.options.source.kind == "target"


def test_the_command_line_wins_over_the_scenario_and_env_merges() -> None:
    _, (scenario,) = resolve("sleep")
    scenario = scenario.__class__(**{**scenario.__dict__, "app": "a:b", "env": {"X": "1"}})
    assert Source().over(scenario).app == "a:b"
    over = Source(target="http://h:1", env={"Y": "2"}).over(scenario)
    assert over.kind == "target" and dict(over.env) == {"X": "1", "Y": "2"}


@pytest.mark.parametrize(
    ("changes", "option", "words"),
    [
        ({"app": "no colon"}, "--app", "is not module:attribute"),
        ({"app": "a:b", "target": "http://h:1"}, "--target", "not both"),
        ({"factory": True}, "--factory", "applies to --app"),
        ({"app_dir": "/nonexistent"}, "--app-dir", "applies to --app"),
        ({"app": "a:b", "app_dir": "/nonexistent"}, "--app-dir", "no such folder"),
        ({"env": ("1BAD=x",)}, "--env", "expected KEY=VALUE"),
        ({"target": "ftp://h:1"}, "--target", "expected http://HOST:PORT"),
        ({"target": "http://h:1/api"}, "--target", "without a path"),
        ({"target": "http://h:99999"}, "--target", "bad port"),
        ({"target": "https://h:1"}, "--target", "add --client fasthttp"),
        ({"app": "a:b", "threadpool_tokens": 8}, "--threadpool-tokens", "your app keeps its own"),
    ],
)
def test_a_bad_source_is_one_error_naming_its_option(
    changes: dict,
    option: str,
    words: str,  # type: ignore[type-arg]
) -> None:
    with pytest.raises(OptionError) as raised:
        prepare(RunRequest("sleep", **changes))
    assert f"Invalid value for {option}" in str(raised.value) and words in str(raised.value)
