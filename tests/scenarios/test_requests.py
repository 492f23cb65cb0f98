"""What a real API needs in a scenario file: method, headers, a templated JSON body, the expected
status, an optional model, the app or target, and mixes — each checked with one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.measure.plan import RunOptions, plan
from scenarios import load_file
from scenarios.model import ScenarioError

BASE = """\
name = "api"
description = "an API"
users = [3]
duration = "1s"
app = "service:app"
app_dir = "src"
[env]
TOKEN = "t"
[parameters]
name = "widget"
[[endpoints]]
label = "create"
variant = "async"
method = "post"
path = "/items"
headers = { Authorization = "Bearer {name}" }
json = { name = "{name}", tags = ["{name}-tag"], count = 2, nested = { k = "{{literal}}" } }
expect_status = 201
[[endpoints]]
label = "list"
variant = "sync"
path = "/items"
model = { concurrency = "threadpool", service_ms = "5" }
[[endpoints]]
label = "slow"
variant = "sync"
path = "/slow"
solo = false
[[mix]]
label = "busy"
endpoints = [{ label = "slow", weight = 1 }, { label = "list", weight = 3 }]
"""


def _load(tmp_path: Path, text: str = BASE) -> object:
    path = tmp_path / "api.toml"
    path.write_text(text)
    return load_file(path)


def test_request_fields_are_parsed_and_templated(tmp_path: Path) -> None:
    scenario = _load(tmp_path)
    create, listing, slow = scenario.rendered_endpoints()  # type: ignore[attr-defined]
    assert create.method == "POST" and create.expect_status == (201,)
    assert create.headers == (("Authorization", "Bearer widget"),)
    assert json.loads(create.body) == {
        "name": "widget",
        "tags": ["widget-tag"],
        "count": 2,
        "nested": {"k": "{literal}"},
    }
    assert not create.modelled and listing.modelled  # no model table: no model given
    assert listing.method == "GET" and listing.expects(204) and not listing.expects(404)
    assert not slow.solo


def test_app_dir_is_relative_to_the_file_and_env_is_kept(tmp_path: Path) -> None:
    scenario = _load(tmp_path)
    assert scenario.app == "service:app"  # type: ignore[attr-defined]
    assert scenario.app_dir == str(tmp_path / "src")  # type: ignore[attr-defined]
    assert dict(scenario.env) == {"TOKEN": "t"}  # type: ignore[attr-defined]


def test_a_mix_is_one_more_measurement_and_solo_false_is_not_measured_alone(
    tmp_path: Path,
) -> None:
    steps = list(plan(_load(tmp_path)))  # type: ignore[arg-type]
    assert [(s.label, s.variant) for s in steps] == [
        ("create", "async"),
        ("list", "sync"),
        ("busy", "mix"),
    ]
    busy = steps[-1]
    assert busy.path == "25% GET /slow + 75% GET /items"
    assert [(r.name, r.weight) for r in busy.job(RunOptions()).requests] == [
        ("slow", 1.0),
        ("list", 3.0),
    ]


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (('method = "post"', 'method = "FETCH"'), "endpoints.method: 'FETCH'"),
        (("expect_status = 201", "expect_status = 999"), "[999] are not HTTP status codes"),
        (("expect_status = 201", 'expect_status = "ok"'), "expect_status: expected a status"),
        (('label = "slow", weight = 1', 'label = "nope", weight = 1'), "unknown endpoint(s)"),
        (('label = "slow", weight = 1', 'label = "slow", weight = 0'), "must be > 0"),
        (('label = "slow", weight = 1', 'label = "slow", weight = "x"'), "must be a number"),
        (('app_dir = "src"', 'target = "http://127.0.0.1:1"'), "give one"),
        (("[env]", "[env]\nBAD = true"), "env: expected a table"),
        (("headers = {", "headers = { X = true,"), "headers: expected a table"),
        (('label = "busy"', 'label = "list"'), "an endpoint has the same label"),
        (("solo = false", 'solo = "no"'), "solo: expected bool"),
    ],
)
def test_bad_fields_name_the_file_and_the_field(
    tmp_path: Path, edit: tuple[str, str], words: str
) -> None:
    with pytest.raises(ScenarioError, match="api.toml") as raised:
        _load(tmp_path, BASE.replace(*edit))
    assert words in str(raised.value)


def test_only_keeps_the_endpoints_a_kept_mix_needs(tmp_path: Path) -> None:
    scenario = _load(tmp_path).only(["busy"])  # type: ignore[attr-defined]
    assert [(e.label, e.solo) for e in scenario.endpoints] == [("list", False), ("slow", False)]
    assert [s.label for s in plan(scenario)] == ["busy"]


def test_the_shipped_example_of_an_own_app_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "shop" / "shop.toml"
    scenario = load_file(example)
    assert scenario.app == "app:app"  # type: ignore[union-attr]
    assert Path(scenario.app_dir) == example.parent  # type: ignore[union-attr]
    assert [m.label for m in scenario.mixes] == [  # type: ignore[union-attr]
        "shop traffic",
        "shop traffic with reports",
    ]
