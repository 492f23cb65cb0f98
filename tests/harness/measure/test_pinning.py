"""Pinning plans: one rule from 1 CPU to 64, roles given or planned, overlaps refused unless
allowed (then flagged), and a plan without pinning where the OS cannot pin."""

from __future__ import annotations

import os
import re

import pytest

from harness import affinity
from harness.measure.pinning import NOT_PINNED, Pinning, PlanError, listed, parse_cpus, split


def _sizes(plan: Pinning) -> tuple[int, int, int]:
    return len(plan.app), len(plan.loadgen), len(plan.services)


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(2, (1, 1, 1)), (3, (1, 1, 1)), (4, (2, 1, 1)), (16, (8, 6, 2)), (64, (32, 24, 8))],
)
def test_the_default_plan_follows_one_rule(count: int, sizes: tuple[int, int, int]) -> None:
    plan = Pinning.plan(range(count))
    assert _sizes(plan) == sizes
    assert plan.pinned and not plan.shared and not plan.given
    assert not set(plan.app) & (set(plan.loadgen) | set(plan.services)), "the app stays alone"
    assert plan.upstream == plan.database == plan.services
    if count > 2:  # three roles apart: every CPU used once
        assert sorted(plan.app + plan.loadgen + plan.services) == list(range(count))


def test_two_cpus_keep_todays_plan_exactly() -> None:
    plan = Pinning.plan((0, 1))
    assert (plan.app, plan.loadgen, plan.upstream, plan.database) == ((0,), (1,), (1,), (1,))
    assert plan.note == "app on CPU 0; load generator, upstream and database on CPU 1"
    assert not plan.shared, "services with the load generator is the layout, not a flag"


def test_sixteen_cpus_in_words() -> None:
    plan = Pinning.plan(range(16))
    assert plan.note == (
        "app on CPU 0-7; load generator on CPU 8-13; upstream and database on CPU 14,15"
    )


def test_one_cpu_is_shared_and_flagged() -> None:
    plan = Pinning.plan([4])
    assert plan.app == plan.loadgen == plan.upstream == plan.database == (4,)
    assert "share" in plan.note and "pessimistic" in plan.note
    assert [s.roles for s in plan.shared] == [("app", "loadgen"), ("app", "services")]


def test_no_cpu_is_an_error() -> None:
    with pytest.raises(ValueError, match="no CPU"):
        Pinning.plan([])


def test_a_given_role_is_kept_and_the_others_are_planned_from_what_is_left() -> None:
    plan = Pinning.plan(range(16), {"app": (0, 1)})
    assert plan.app == (0, 1)
    assert _sizes(plan) == (2, 11, 3)  # 14 left: the services a quarter, the generator the rest
    assert not set(plan.app) & set(plan.loadgen + plan.services)
    assert plan.to_dict()["origin"] == {"app": "given", "loadgen": "default", "services": "default"}


def test_given_app_and_loadgen_on_two_cpus_put_the_services_with_the_load_generator() -> None:
    plan = Pinning.plan((0, 1), {"app": (0,), "loadgen": (1,)})
    assert plan.services == (1,) and not plan.shared


@pytest.mark.parametrize(
    ("given", "option", "words"),
    [
        ({"app": (0, 1)}, "--app-cpus", "0,1 leaves no CPU for the load generator"),
        ({"app": (0,), "loadgen": (0,)}, "--app-cpus", "app and the load generator share CPU 0"),
        ({"loadgen": (1,), "services": (1,)}, "--loadgen-cpus", "share CPU 1"),
        ({"services": (1,)}, "--services-cpus", "1 leaves too few CPUs"),
        ({"app": (5,)}, "--app-cpus", "CPU 5 is not one this process may use (0,1)"),
        ({"loadgen": ()}, "--loadgen-cpus", "an empty set of CPUs"),
    ],
)
def test_a_plan_that_cannot_be_made_names_its_option(
    given: dict[str, tuple[int, ...]], option: str, words: str
) -> None:
    with pytest.raises(PlanError, match=re.escape(words)) as refused:
        Pinning.plan((0, 1), given)
    assert refused.value.option == option


def test_every_role_given_is_kept_as_given() -> None:
    plan = Pinning.plan(range(4), {"app": (0, 1), "loadgen": (2,), "services": (3,)})
    assert (plan.app, plan.loadgen, plan.services) == ((0, 1), (2,), (3,))
    assert plan.given == ("app", "loadgen", "services") and not plan.shared


def test_shared_cores_when_allowed_are_flagged_and_recorded() -> None:
    plan = Pinning.plan((0, 1), {"app": (0, 1)}, allow_shared=True)
    assert plan.app == (0, 1) and plan.loadgen == (1,)
    assert "shared cores: the app and the load generator share CPU 1" in plan.note
    record = plan.to_dict()
    assert record["allow_shared_cores"] is True
    assert {"roles": ["app", "loadgen"], "cpus": [1]} in record["shared"]


def test_the_record_holds_every_role_and_how_it_was_chosen() -> None:
    assert Pinning.plan((0, 1, 2, 3)).to_dict() == {
        "app": [0, 1],
        "loadgen": [2],
        "services": [3],
        "upstream": [3],
        "database": [3],
        "note": "app on CPU 0,1; load generator on CPU 2; upstream and database on CPU 3",
        "pinned": True,
        "origin": {"app": "default", "loadgen": "default", "services": "default"},
        "allow_shared_cores": False,
        "shared": [],
    }


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no sched_getaffinity here")
def test_the_default_plan_uses_this_process_affinity() -> None:
    assert set(Pinning.plan().app) <= os.sched_getaffinity(0)


@pytest.mark.parametrize(
    ("text", "cpus"), [("0", (0,)), ("0-3,6", (0, 1, 2, 3, 6)), (" 2 , 1-2 ", (1, 2))]
)
def test_cpu_lists_and_ranges_are_read(text: str, cpus: tuple[int, ...]) -> None:
    assert parse_cpus(text) == cpus


@pytest.mark.parametrize(
    ("text", "words"),
    [("", "empty set"), ("a", "expected CPU numbers"), ("1,", "expected"), ("3-1", "backwards")],
)
def test_a_malformed_cpu_list_says_why(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_cpus(text)


def test_cpus_in_words() -> None:
    assert listed((0, 1, 2, 3, 6, 7)) == "0-3,6,7" and listed([5]) == "5"


def test_split_rides_the_services_with_the_load_generator_on_two_cpus() -> None:
    assert split((0, 1), ("app", "loadgen", "services")) == {
        "app": (0,),
        "loadgen": (1,),
        "services": (1,),
    }


# --- where the OS cannot pin (macOS): simulated by taking the calls away -----------------------


@pytest.fixture
def no_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)


@pytest.mark.usefixtures("no_affinity")
def test_without_affinity_every_role_gets_every_cpu_and_says_not_pinned() -> None:
    plan = Pinning.plan()
    assert not plan.pinned
    assert plan.app == plan.loadgen == plan.services == (0, 1, 2, 3)  # from os.cpu_count()
    assert plan.note.startswith(NOT_PINNED)
    assert NOT_PINNED == "not pinned: load generator and app share cores"
    assert plan.to_dict()["pinned"] is False


@pytest.mark.usefixtures("no_affinity")
def test_without_affinity_a_given_role_is_refused() -> None:
    with pytest.raises(PlanError, match="this OS cannot pin") as refused:
        Pinning.plan(given={"services": (0,)})
    assert refused.value.option == "--services-cpus"


def test_the_simulation_switch_plans_unpinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(affinity.SIMULATE_ENV, "1")
    assert not Pinning.plan().pinned and not affinity.can_pin()
    assert affinity.pin_self([0]) is False and affinity.die_with_parent(15) is False
