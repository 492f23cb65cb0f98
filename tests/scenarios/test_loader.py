"""Scenario files: the shipped ones load, suites apply their overrides, bad files say where."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.analysis.capacity import Context, evaluate
from scenarios import Scenario, Suite, available, load_file, resolve
from scenarios.loader import SCENARIO_DIR
from scenarios.model import ScenarioError, parse_duration, parse_users

SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))

VALID = """\
name = "mini"
description = "a test scenario of {ms} ms"
users = [1, 2]
duration = "1s"
warmup = "0s"

[parameters]
ms = 5

[[endpoints]]
label = "sync sleep"
variant = "sync"
path = "/sync/sleep?ms={ms}"
model = { concurrency = "threadpool", service_ms = "{ms}" }

[[endpoints]]
label = "async sleep"
variant = "async"
path = "/async/sleep?ms={ms}"
"""


def write(tmp_path: Path, text: str, name: str = "broken.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_file(path)
    return str(info.value)


# --- the shipped scenarios -------------------------------------------------------------------


def test_every_shipped_file_is_available_under_its_own_name() -> None:
    found = available()
    assert sorted(found) == SHIPPED
    assert {"baseline", "sleep", "pitfalls", "quick"} <= set(found)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_item_is_complete(name: str) -> None:
    item = available()[name]
    assert item.name == name
    assert item.description.strip()
    if isinstance(item, Suite):
        assert item.scenarios
        return
    assert isinstance(item, Scenario)
    assert len(item.endpoints) >= 1
    assert item.users and all(u >= 1 for u in item.users)
    assert "{" not in item.title
    for endpoint in item.rendered_endpoints():
        assert endpoint.path.startswith("/")
        assert "{" not in endpoint.path and "}" not in endpoint.path
        # the capacity model can read every expression (app-reported facts such as
        # cpu_us_per_round and executor_workers stand in as 1.0)
        names = {
            **Context().names(),
            "cpu_us_per_round": 1.0,
            "executor_workers": 1.0,
            **{k: float(v) for k, v in item.parameters.items()},
        }
        for expression in (endpoint.service_ms, endpoint.calls, *endpoint.limits):
            assert evaluate(expression, names) >= 0
        if endpoint.max_rps:
            assert evaluate(endpoint.max_rps, names) > 0
    record = item.to_dict()
    assert [e["label"] for e in record["endpoints"]] == [e.label for e in item.endpoints]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_name_resolves_to_runnable_scenarios(name: str) -> None:
    item, scenarios = resolve(name)
    assert item.name == name
    assert scenarios and all(isinstance(s, Scenario) for s in scenarios)


def test_quick_suite_applies_shared_and_per_scenario_overrides() -> None:
    suite, scenarios = resolve("quick")
    assert isinstance(suite, Suite)
    raw = tomllib.loads((SCENARIO_DIR / "quick.toml").read_text(encoding="utf-8"))
    assert [s.name for s in scenarios] == raw["scenarios"]
    shipped = available()
    for scenario in scenarios:
        base = shipped[scenario.name]
        assert isinstance(base, Scenario)
        assert scenario.duration_s == parse_duration(raw["duration"])
        assert scenario.warmup_s == parse_duration(raw["warmup"])
        assert scenario.repeat == raw["repeat"]
        override = raw.get("overrides", {}).get(scenario.name, {})
        labels = override.get("endpoints", [e.label for e in base.endpoints])
        assert [e.label for e in scenario.endpoints] == labels
        assert set(scenario.endpoints) <= set(base.endpoints)
        expected_users = tuple(override["users"]) if "users" in override else base.users
        assert scenario.users == expected_users
    sleep = next(s for s in scenarios if s.name == "sleep")
    base_sleep = shipped["sleep"]
    assert isinstance(base_sleep, Scenario)
    # the override must really change something, or this test proves nothing
    assert sleep.users == tuple(raw["overrides"]["sleep"]["users"]) != base_sleep.users
    assert sleep.duration_s != base_sleep.duration_s


def test_a_toml_path_resolves_like_a_name(tmp_path: Path) -> None:
    item, scenarios = resolve(str(write(tmp_path, VALID, "mini.toml")))
    assert item.name == "mini" and scenarios == [item]
    assert isinstance(item, Scenario)
    assert [e.path for e in item.rendered_endpoints()] == ["/sync/sleep?ms=5", "/async/sleep?ms=5"]
    assert item.title == "a test scenario of 5 ms"
    assert item.users == (1, 2) and item.duration_s == 1.0 and item.warmup_s == 0.0


def test_unknown_scenario_name_lists_the_known_ones() -> None:
    with pytest.raises(ScenarioError) as info:
        resolve("slep")
    message = str(info.value)
    assert "'slep'" in message
    for name in SHIPPED:
        assert name in message


def test_missing_toml_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        resolve(str(tmp_path / "absent.toml"))


# --- durations and users levels --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("15s", 15.0), ("500ms", 0.5), ("2m", 120.0), (3, 3.0), ("3", 3.0), (2.5, 2.5), ("0s", 0.0)],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["abc", "-1s", True, "", "5h", "2 hours", -1, "2h"])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ScenarioError, match=r"^warmup: "):
        parse_duration(value, "warmup")


@pytest.mark.parametrize(
    ("value", "levels"),
    [("10,50", (10, 50)), (" 10 , 50 ,", (10, 50)), ([1, 5000], (1, 5000)), (7, (7,))],
)
def test_parse_users(value: object, levels: tuple[int, ...]) -> None:
    assert parse_users(value) == levels


@pytest.mark.parametrize("value", ["0", "abc", "", "10,x", [5001], [1.5], [True], ","])
def test_parse_users_rejects(value: object) -> None:
    with pytest.raises(ScenarioError, match=r"^--users: "):
        parse_users(value, "--users")


# --- malformed files: each error names the file and the field --------------------------------


def test_invalid_toml(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, VALID.replace('warmup = "0s"', "warmup = 0s")))
    assert "broken.toml" in message
    assert "not valid TOML" in message
    assert "line 5" in message  # where the mistake is


def test_missing_endpoints(tmp_path: Path) -> None:
    text = VALID.split("[[endpoints]]")[0]
    message = load_error(write(tmp_path, text))
    assert message.startswith("broken.toml: endpoints: missing")


def test_unknown_top_level_field(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, VALID.replace('duration = "1s"', 'durration = "1s"')))
    assert message.startswith("broken.toml: ")
    assert "unknown field(s) durration" in message


def test_unknown_endpoint_field(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, VALID.replace('variant = "async"', 'varaint = "async"')))
    assert message == "broken.toml: endpoints[1]: unknown field(s) varaint"


def test_unknown_model_field(tmp_path: Path) -> None:
    text = VALID.replace('concurrency = "threadpool"', 'concurency = "threadpool"')
    message = load_error(write(tmp_path, text))
    assert message == "broken.toml: endpoints[0].model: unknown field(s) concurency"


def test_bad_variant(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, VALID.replace('variant = "sync"', 'variant = "fast"')))
    assert message.startswith("broken.toml: endpoints.variant: 'fast' is not one of")
    assert "sync" in message and "async" in message


def test_placeholder_without_parameter(tmp_path: Path) -> None:
    text = VALID.replace('path = "/sync/sleep?ms={ms}"', 'path = "/sync/sleep?ms={delay}"')
    message = load_error(write(tmp_path, text))
    assert message.startswith("broken.toml: endpoints.path: ")
    assert "'delay'" in message and "'sync sleep'" in message


def test_duplicate_labels(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, VALID.replace('"async sleep"', '"sync sleep"')))
    assert message.startswith("broken.toml: endpoints.label: labels must be unique")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("users = [1, 2]", "users = [0]", "users"),
        ('duration = "1s"', 'duration = "soon"', "duration"),
        ('duration = "1s"', 'duration = "500ms"', "duration"),
        ('name = "mini"', 'name = "Mini Scenario"', "name"),
        ('name = "mini"', "name = 3", "name"),
        ('path = "/async/sleep?ms={ms}"', 'path = "async/sleep"', "endpoints.path"),
    ],
)
def test_bad_values_name_their_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    assert old in VALID
    message = load_error(write(tmp_path, VALID.replace(old, new)))
    assert message.startswith(f"broken.toml: {field}: ")


def test_suite_naming_an_unknown_scenario(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'kind = "suite"\nname = "mine"\ndescription = "d"\nscenarios = ["sleep", "slep"]\n',
        "mysuite.toml",
    )
    assert isinstance(load_file(path), Suite)  # the names are checked when it is resolved
    with pytest.raises(ScenarioError) as info:
        resolve(str(path))
    message = str(info.value)
    assert message.startswith("mysuite.toml: scenarios: 'slep' is not a known scenario")
    assert "sleep" in message.split("known:")[1]


def test_suite_override_with_a_typo(tmp_path: Path) -> None:
    text = (
        'kind = "suite"\nname = "mine"\ndescription = "d"\nscenarios = ["sleep"]\n'
        "[overrides.sleep]\nuserz = [5]\n"
    )
    message = load_error(write(tmp_path, text))
    assert message == "broken.toml: overrides.sleep: unknown field(s) userz"


def test_suite_override_for_a_scenario_not_in_the_suite(tmp_path: Path) -> None:
    text = (
        'kind = "suite"\nname = "mine"\ndescription = "d"\nscenarios = ["sleep"]\n'
        "[overrides.slep]\nusers = [5]\n"
    )
    message = load_error(write(tmp_path, text))
    assert message.startswith("broken.toml: overrides: slep")


def test_unknown_kind(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, 'kind = "benchmark"\n' + VALID))
    assert message.startswith("broken.toml: kind: ")


# --- bad files: one ScenarioError naming the file and the field, never a traceback ---------------

GOOD = """
name = "mine"
description = "a test"
users = [1]
duration = "1s"
repeat = 1
[parameters]
ms = 10
[[endpoints]]
label = "a"
variant = "async"
path = "/async/sleep?ms={ms}"
model = { concurrency = "users", service_ms = "{ms}" }
"""


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("repeat = 1", 'repeat = "abc"', "repeat: expected int, got 'abc'"),
        ("?ms={ms}", "?ms={ms", "placeholder of 'a' is malformed"),
        ('service_ms = "{ms}"', 'service_ms = "1 +"', "model.service_ms: not an arithmetic"),
        ('service_ms = "{ms}"', 'service_ms = "{ms} / 0"', "model.service_ms: division by zero"),
        ('service_ms = "{ms}"', 'service_ms = "__import__(1)"', "unsupported expression"),
        ('"/async/sleep', '"//evil.example/x', "must start with a single /"),
    ],
)
def test_a_bad_field_is_one_error_naming_it(tmp_path: Path, old: str, new: str, words: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(ScenarioError, match="mine.toml") as raised:
        load_file(path)
    assert words in str(raised.value)


def test_a_file_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(GOOD.replace('"a test"', '"caf\xe9"').encode("latin-1"))
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_file(path)


def test_the_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    assert isinstance(load_file(path), Scenario)


def test_a_scenarios_checks_load_and_are_saved_with_its_record(tmp_path: Path) -> None:
    text = 'checks = ["async sleep: rps >= 1", "ASYNC sleep / sync sleep >= 1"]\n' + VALID
    item = load_file(write(tmp_path, text))
    assert isinstance(item, Scenario)
    assert item.checks == ("async sleep: rps >= 1", "ASYNC sleep / sync sleep >= 1")
    assert item.to_dict()["checks"] == list(item.checks)
    plain = load_file(write(tmp_path, VALID, "plain.toml"))
    assert isinstance(plain, Scenario) and plain.to_dict()["checks"] == []


@pytest.mark.parametrize(
    ("checks", "words"),
    [
        ('["async sleep: rps >= fast"]', "checks[0]: check 'async sleep: rps >= fast': 'fast' is"),
        (
            '["errors == 0", "nosuch: p99 <= 1s"]',
            "checks[1]: check 'nosuch: p99 <= 1s': unknown endpoint 'nosuch'; "
            "known: sync sleep, async sleep",
        ),
        ('["async sleep: speed >= 1"]', "checks[0]: check 'async sleep: speed >= 1': unknown"),
        ("[[1, 2]]", "checks: expected a list of strings"),
        ('"async sleep: rps >= 1"', "checks: expected a list of strings"),
    ],
)
def test_a_malformed_check_in_a_scenario_file_names_the_file_and_the_check(
    tmp_path: Path, checks: str, words: str
) -> None:
    message = load_error(write(tmp_path, f"checks = {checks}\n" + VALID))
    assert message.startswith("broken.toml: ") and words in message
    assert "\n" not in message


def test_a_check_may_name_a_users_level_the_file_does_not_list(tmp_path: Path) -> None:
    """--users may override the file's levels: ``@ N`` is checked when the run is prepared."""
    item = load_file(write(tmp_path, 'checks = ["async sleep @ 100: rps >= 1"]\n' + VALID))
    assert isinstance(item, Scenario) and item.users == (1, 2)


# a value of any TOML type, for any field a scenario file may hold
VALUES = st.one_of(
    st.integers(-5, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.text(alphabet="abc{}/?=:%ms0123456789 -_*()", max_size=20),
    st.lists(st.integers(-3, 6000), max_size=4),
    st.lists(st.text(alphabet="ab/{}", max_size=5), max_size=3),
)
FIELDS = [
    "name",
    "description",
    "users",
    "duration",
    "warmup",
    "repeat",
    "tags",
    "services",
    "checks",
]
ENDPOINT_FIELDS = ["label", "variant", "path", "note", "model"]


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # the alphabet has no quote or backslash to escape
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines = []
    for field in draw(st.lists(st.sampled_from(FIELDS), unique=True)):
        lines.append(f"{field} = {_toml(draw(VALUES))}")
    if draw(st.booleans()):
        lines += ["[parameters]", f"ms = {_toml(draw(VALUES))}"]
    for _ in range(draw(st.integers(0, 2))):
        lines.append("[[endpoints]]")
        for field in draw(st.lists(st.sampled_from(ENDPOINT_FIELDS), unique=True)):
            if field == "model":
                inner = draw(st.sampled_from(["concurrency", "service_ms", "limits", "calls"]))
                lines.append(f"model = {{ {inner} = {_toml(draw(VALUES))} }}")
            else:
                lines.append(f"{field} = {_toml(draw(VALUES))}")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(documents())
def test_no_scenario_document_gives_a_traceback(tmp_path: Path, document: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(document)
    try:
        item = load_file(path)
    except ScenarioError:
        return
    assert isinstance(item, Scenario)
    item.rendered_endpoints()
