"""The grammar of checks: every form parsed, every malformed one a one-line error naming it, and
labels resolved against the scenarios a run measures."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.analysis.checks import RATIO, Check, CheckError, parse, resolve, validate
from harness.errors import BenchError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "async sleep: rps >= 900",
            Check("async sleep: rps >= 900", "rps", ">=", 900.0, "async sleep"),
        ),
        (
            "async sleep @ 100: p99 <= 300ms",
            Check("async sleep @ 100: p99 <= 300ms", "p99", "<=", 300.0, "async sleep", users=100),
        ),
        ("a: p99 <= 0.3s", Check("a: p99 <= 0.3s", "p99", "<=", 300.0, "a")),
        ("a: p50 < 12.5", Check("a: p50 < 12.5", "p50", "<", 12.5, "a")),
        ("a: p90 > 1", Check("a: p90 > 1", "p90", ">", 1.0, "a")),
        ("a: max <= 2s", Check("a: max <= 2s", "max", "<=", 2000.0, "a")),
        ("a: mean <= 110ms", Check("a: mean <= 110ms", "mean", "<=", 110.0, "a")),
        ("a: errors == 0", Check("a: errors == 0", "errors", "==", 0.0, "a")),
        ("a: timeouts <= 3", Check("a: timeouts <= 3", "timeouts", "<=", 3.0, "a")),
        ("a: error_rate <= 1%", Check("a: error_rate <= 1%", "error_rate", "<=", 0.01, "a")),
        ("a: error_rate <= 0.02", Check("a: error_rate <= 0.02", "error_rate", "<=", 0.02, "a")),
        (
            "a: measured/predicted >= 90%",
            Check("a: measured/predicted >= 90%", "measured/predicted", ">=", 0.9, "a"),
        ),
        (
            "a: ratio_to_model >= 0.85",
            Check("a: ratio_to_model >= 0.85", "measured/predicted", ">=", 0.85, "a"),
        ),
        ("a: RPS ≥ 1,000", Check("a: RPS ≥ 1,000", "rps", ">=", 1000.0, "a")),
        (
            "sleep/async sleep: rps >= 5",
            Check("sleep/async sleep: rps >= 5", "rps", ">=", 5.0, "sleep/async sleep"),
        ),
        (
            "async sleep / sync sleep >= 2",
            Check("async sleep / sync sleep >= 2", RATIO, ">=", 2.0, "async sleep", "sync sleep"),
        ),
        (
            "a / b @ 50 <= 1.5x",
            Check("a / b @ 50 <= 1.5x", RATIO, "<=", 1.5, "a", "b", users=50),
        ),
        ("a @ 50 / b == 1", Check("a @ 50 / b == 1", RATIO, "==", 1.0, "a", "b", users=50)),
        ("errors == 0", Check("errors == 0", "errors", "==", 0.0)),
        ("timeouts == 0", Check("timeouts == 0", "timeouts", "==", 0.0)),
        ("error_rate < 0.5%", Check("error_rate < 0.5%", "error_rate", "<", 0.005)),
        ("  errors   ==0 ", Check("errors ==0", "errors", "==", 0.0)),
    ],
)
def test_every_form_parses(text: str, expected: Check) -> None:
    assert parse(text) == expected


def test_a_scenario_files_check_keeps_its_scenario() -> None:
    assert parse("a: rps >= 1", scope="sleep").scope == "sleep"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["empty", "async sleep: rps >= 900"]),
        ("async sleep rps 900", ["no comparison", "errors == 0"]),
        ("a: rps = 5", ["write =="]),
        ("a: rps >=", ["no threshold after >="]),
        ("a: rps >= 1 <= 2", ["one comparison per check"]),
        ("a: rps >= fast", ["'fast' is not a number"]),
        ("a: rps >= -1", ["'-1' is not a number ≥ 0"]),
        ("a: rps >= 5ms", ["rps takes a value like 900", "'5ms'"]),
        ("a: p99 <= 3 minutes", ["p99 takes a value like 300ms or 0.3s"]),
        ("a: p99 <= 1%", ["p99 takes a value like 300ms or 0.3s", "'1%'"]),
        ("a: errors == 0.5", ["errors is a count", "'0.5'"]),
        ("a: error_rate <= 2", ["error_rate is a share", "'2'"]),
        ("a: error_rate <= 150%", ["error_rate is a share"]),
        ("a: speed >= 1", ["unknown metric 'speed'", "rps, p50", "measured/predicted"]),
        (": rps >= 1", ["no endpoint label"]),
        ("a @ many: rps >= 1", ["after @", "'many'"]),
        ("a @ 0: rps >= 1", ["after @", "1..5000", "'0'"]),
        ("rps >= 900", ["rps needs an endpoint", "'async sleep: rps >= 900'"]),
        ("p99 <= 300ms", ["p99 needs an endpoint"]),
        ("a / b / c >= 1", ["a ratio 'A / B'", "spaces around /"]),
        ("a/b >= 1", ["'ENDPOINT: METRIC'"]),
        ("a @ 10 / b @ 20 >= 1", ["the same users level"]),
        ("a / b >= 2ms", ["rps ratio takes a value like 2 or 2x"]),
    ],
)
def test_a_malformed_check_is_one_line_naming_it(text: str, words: list[str]) -> None:
    with pytest.raises(CheckError) as info:
        parse(text)
    message = str(info.value)
    assert isinstance(info.value, BenchError) and info.value.exit_code == 2
    assert message.startswith(f"check {' '.join(text.split())!r}: ")
    assert "\n" not in message
    for word in words:
        assert word in message


@dataclass(frozen=True)
class Planned:
    """A scenario as validation sees it."""

    name: str
    users: tuple[int, ...]
    measured_labels: tuple[str, ...]
    rates: tuple[float, ...] = ()


SLEEP = Planned("sleep", (10, 100), ("sync sleep", "async sleep"))
DATABASE = Planned("database", (50,), ("sync db sleep", "async db sleep"))
SMALL_POOL = Planned("database-small-pool", (200,), ("sync db sleep", "async db sleep"))
RUN = [SLEEP, DATABASE, SMALL_POOL]
KNOWN = {p.name: p.measured_labels for p in RUN}


def test_labels_resolve_case_insensitively_and_by_scenario() -> None:
    assert resolve(parse("ASYNC Sleep: rps >= 1"), "ASYNC Sleep", KNOWN) == ("sleep", "async sleep")
    check = parse("database/sync db sleep: rps >= 1")
    assert resolve(check, check.endpoint, KNOWN) == ("database", "sync db sleep")
    validate([check, parse("async sleep / sync sleep @ 100 >= 2"), parse("errors == 0")], RUN)


def test_an_ambiguous_label_asks_for_its_scenario() -> None:
    with pytest.raises(CheckError) as info:
        validate([parse("sync db sleep: rps >= 1")], RUN)
    message = str(info.value)
    assert "'sync db sleep' is in database, database-small-pool" in message
    assert "'database/sync db sleep'" in message


def test_an_unknown_label_lists_the_known_ones() -> None:
    with pytest.raises(CheckError) as info:
        validate([parse("async sleep / nosuch >= 2")], RUN)
    message = str(info.value)
    assert message.startswith("check 'async sleep / nosuch >= 2': unknown endpoint 'nosuch'")
    assert "known: sync sleep, async sleep, database/sync db sleep" in message
    assert "database-small-pool/async db sleep" in message


def test_a_users_level_the_run_does_not_measure_is_refused() -> None:
    with pytest.raises(CheckError, match=r"'async sleep' is measured at 10, 100 users, not 50"):
        validate([parse("async sleep @ 50: rps >= 1")], RUN)
    validate([parse("async sleep @ 50: rps >= 1")], RUN, users=False)  # a file's own levels


def test_a_scenario_files_check_sees_only_its_scenario() -> None:
    scoped = parse("sync db sleep: rps >= 1", scope="database")
    validate([scoped], RUN)  # not ambiguous inside its own scenario
    with pytest.raises(CheckError, match="unknown endpoint 'sync sleep'; known: sync db sleep"):
        validate([parse("sync sleep: rps >= 1", scope="database")], RUN)


def test_a_check_at_an_offered_rate_parses_and_is_validated_against_the_rates() -> None:
    check = parse("async sleep @ 400 req/s: p99 <= 150ms")
    assert (check.endpoint, check.rate, check.users, check.threshold) == (
        "async sleep",
        400.0,
        None,
        150.0,
    )
    assert parse("async sleep @ 400rps: p50 <= 1s").rate == 400.0
    assert parse("async sleep @ 2,000 /s: rps >= 1900").rate == 2000.0
    opened = Planned("open", (), ("sync sleep", "async sleep"), (100.0, 400.0))
    validate([check], [opened])
    with pytest.raises(CheckError, match=r"'async sleep' is offered 100, 400 req/s, not 300"):
        validate([parse("async sleep @ 300 req/s: p99 <= 1s")], [opened])
    with pytest.raises(CheckError, match=r"is measured by users \(no --rate\), not 400 req/s"):
        validate([check], [SLEEP])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("async sleep @ 0 req/s: p99 <= 1s", "an offered rate 0..100,000 req/s"),
        ("async sleep @ fast: p99 <= 1s", "a users level 1..5000 or an offered rate like"),
        ("async sleep @ 400 req/s / sync sleep >= 2", "at an offered rate compare latency"),
    ],
)
def test_a_bad_rate_is_one_line(text: str, message: str) -> None:
    with pytest.raises(CheckError, match=message):
        parse(text)
