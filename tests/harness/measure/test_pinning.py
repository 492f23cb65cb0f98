"""Pinning plans: the app alone on its CPU, everything else on the others, and the record."""

from __future__ import annotations

import os

import pytest

from harness.measure.pinning import Pinning


@pytest.mark.parametrize(
    ("cpus", "app", "rest"),
    [((0, 1), (0,), (1,)), ((0, 1, 2, 3), (0,), (1, 2, 3)), ((7, 3, 5), (3,), (5, 7))],
)
def test_the_app_gets_the_first_cpu_alone(
    cpus: tuple[int, ...], app: tuple[int, ...], rest: tuple[int, ...]
) -> None:
    plan = Pinning.plan(cpus)
    assert plan.app == app
    assert plan.loadgen == plan.upstream == plan.database == rest
    assert not set(plan.app) & set(plan.loadgen), "never the same core"
    assert f"app on CPU {app[0]}" in plan.note


def test_one_cpu_is_shared_and_says_so() -> None:
    plan = Pinning.plan([4])
    assert plan.app == plan.loadgen == plan.upstream == plan.database == (4,)
    assert "share" in plan.note and "pessimistic" in plan.note


def test_no_cpu_is_an_error() -> None:
    with pytest.raises(ValueError, match="no CPU"):
        Pinning.plan([])


def test_the_record_holds_every_role() -> None:
    assert Pinning.plan((0, 1, 2)).to_dict() == {
        "app": [0],
        "loadgen": [1, 2],
        "upstream": [1, 2],
        "database": [1, 2],
        "note": "app on CPU 0; load generator, upstream and database on CPU 1,2",
    }


def test_the_default_plan_uses_this_process_affinity() -> None:
    assert set(Pinning.plan().app) <= os.sched_getaffinity(0)
