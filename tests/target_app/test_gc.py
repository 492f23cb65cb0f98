"""The gc settings: parsed and validated, applied by the lifespan, recorded, undone on exit."""

from __future__ import annotations

import gc

import httpx
import pytest
from pydantic import ValidationError

from harness.measure.request import OptionError, RunRequest, prepare
from target_app.main import create_app
from target_app.settings import Settings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("700,10,10", (700, 10, 10)), (" 5000, 20 ", (5000, 20)), (0, (0,)), ("", ())],
)
def test_gc_threshold_parses(raw: object, expected: tuple[int, ...]) -> None:
    assert Settings(gc_threshold=raw).gc_thresholds() == expected


def test_gc_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_GC_THRESHOLD", "1000,15,15")
    monkeypatch.setenv("BENCH_GC_FREEZE", "true")
    settings = Settings()
    assert settings.gc_freeze is True
    assert settings.gc_thresholds() == (1000, 15, 15)
    assert settings.public()["gc_threshold"] == "1000,15,15"


@pytest.mark.parametrize("raw", ["abc", "1,2,3,4", "700,-1", "700,,10", "1.5", "99999999"])
def test_bad_gc_threshold_is_rejected(raw: str) -> None:
    with pytest.raises(ValidationError, match="gc_threshold"):
        Settings(gc_threshold=raw)


@pytest.mark.parametrize(
    ("setting", "words"),
    [("gc_threshold=abc", "gc_threshold"), ("gc_freeze=maybe", "gc_freeze")],
)
def test_a_bad_gc_setting_is_one_cli_error(setting: str, words: str) -> None:
    """Through the same path as ``bench run … --setting db_pool_size=abc``."""
    with pytest.raises(OptionError) as raised:
        prepare(RunRequest("sleep", settings=(setting,)))
    message = str(raised.value)
    assert message.startswith("Invalid value for --setting: ") and words in message
    assert "\n" not in message


def test_good_gc_settings_pass_the_cli_check() -> None:
    prepared = prepare(RunRequest("sleep", settings=("gc_threshold=700,10,10", "gc_freeze=true")))
    assert dict(prepared.options.settings) == {
        "gc_threshold": "700,10,10",
        "gc_freeze": "true",
    }


async def test_lifespan_applies_records_and_undoes_them() -> None:
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    app = create_app(Settings(gc_threshold="1234,11,12", gc_freeze=True))
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == (1234, 11, 12)
        assert gc.get_freeze_count() > frozen_before
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            info = (await client.get("/_bench/info")).json()
    assert info["settings"]["gc_threshold"] == "1234,11,12"
    assert info["settings"]["gc_freeze"] is True
    recorded = info["extra"]["gc"]
    assert recorded["freeze"] is True and recorded["frozen_objects"] > 0
    assert recorded["threshold"] == [1234, 11, 12]
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


async def test_by_default_gc_is_left_alone() -> None:
    before = gc.get_threshold()
    app = create_app(Settings())
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0
        recorded = app.state.bench_extra["gc"]
    assert recorded == {"freeze": False, "frozen_objects": 0, "threshold": list(before)}
