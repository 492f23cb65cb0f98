"""The open model in a scenario file: ``rates = [...]`` instead of ``users``, never both."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import load_file
from scenarios.model import ScenarioError, parse_rates
from tests.scenarios.test_loader import VALID, load_error, write


def test_rates_load_with_their_spacing_and_cap(tmp_path: Path) -> None:
    text = VALID.replace(
        "users = [1, 2]", 'rates = [100, 250.5]\narrivals = "poisson"\nmax_in_flight = 300'
    )
    scenario = load_file(write(tmp_path, text, "open.toml"))
    assert scenario.rates == (100.0, 250.5) and scenario.users == ()
    assert scenario.arrivals == "poisson" and scenario.max_in_flight == 300
    record = scenario.to_dict()
    assert record["rates"] == [100.0, 250.5] and record["users"] == []
    assert record["arrivals"] == "poisson" and record["max_in_flight"] == 300


def test_a_closed_model_record_is_unchanged(tmp_path: Path) -> None:
    record = load_file(write(tmp_path, VALID, "closed.toml")).to_dict()
    assert "rates" not in record and "max_in_flight" not in record


def test_users_and_rates_together_are_one_error(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("users = [1, 2]", "users = [1, 2]\nrates = [100]"))
    assert load_error(path) == (
        "broken.toml: users and rates: give one, users levels (closed model) or rates (open model)"
    )


@pytest.mark.parametrize(
    ("new", "words"),
    [
        ("rates = [0]", "rates: each rate must be"),
        ("rates = [-5]", "rates: each rate must be"),
        ('rates = ["fast"]', "'fast' is not a rate"),
        ("rates = []", "give at least one rate"),
        ('rates = [10]\narrivals = "bursty"', "arrivals: 'bursty' is not constant or poisson"),
        ("rates = [10]\nmax_in_flight = 0", "max_in_flight: must be 1..5000"),
        ('users = [1]\narrivals = "poisson"', "arrivals: only with rates"),
    ],
)
def test_bad_open_model_fields_name_their_field(tmp_path: Path, new: str, words: str) -> None:
    assert words in load_error(write(tmp_path, VALID.replace("users = [1, 2]", new)))


def test_parse_rates() -> None:
    assert parse_rates("100, 200,400") == (100.0, 200.0, 400.0)
    assert parse_rates([12.5]) == (12.5,)
    with pytest.raises(ScenarioError, match="--rate: each rate"):
        parse_rates("100,1e9", "--rate")


def test_overrides_switch_the_model(tmp_path: Path) -> None:
    scenario = load_file(write(tmp_path, VALID, "closed.toml"))
    opened = scenario.with_rates((50.0,))
    assert opened.rates == (50.0,) and opened.users == ()
    closed = opened.with_overrides(users=(5,))
    assert closed.users == (5,) and closed.rates == ()
    assert scenario.with_rates(None) is scenario
