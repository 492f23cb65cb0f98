"""The instrumentation on apps it was not written for: a bare ASGI callable, a FastAPI app with
its own lifespan, ``install_instrumentation`` on an app; and loading a user's ``module:attr``."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from target_app.foreign import AppLoadError, AppSpec, is_asgi, load
from target_app.instrumentation import install_instrumentation, instrument


async def bare(scope: Scope, receive: Receive, send: Send) -> None:
    """The smallest ASGI app: no lifespan support, one plain-text answer."""
    if scope["type"] == "lifespan":
        raise RuntimeError("no lifespan here")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_bare_asgi_app_gets_metrics_info_and_process_time() -> None:
    wrapped = instrument(bare, info=lambda: {"extra": 1})
    async with _client(wrapped) as client:
        answer = await client.get("/anything")
        assert answer.text == "/anything" and "x-process-time" in answer.headers
        info = (await client.get("/_bench/info")).json()
        assert info["instrumented"] and info["extra"] == 1 and info["threadpool_tokens"] >= 1
        metrics = (await client.get("/_bench/metrics")).json()
        other = await client.get("/_bench/elsewhere")  # not ours: the app answers it
    assert metrics["requests_total"] == 1  # the harness's own reads are not counted
    assert "x-process-time" not in other.headers and other.text == "/_bench/elsewhere"
    assert wrapped._ticker is not None  # started by the first request (no lifespan here)
    await wrapped._stop()


async def test_the_apps_own_lifespan_still_runs_and_the_ticker_follows_it() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.get("/hi")
    async def hi() -> dict[str, str]:
        return {"hi": "there"}

    wrapped = instrument(app)
    started = {"type": "lifespan.startup"}
    sent: list[dict] = []  # type: ignore[type-arg]
    messages = [started, {"type": "lifespan.shutdown"}]

    async def receive() -> dict:  # type: ignore[type-arg]
        return messages.pop(0)

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        sent.append(message)

    await wrapped({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert events == ["startup", "shutdown"]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert wrapped._ticker is not None and wrapped._ticker.done()


async def test_install_instrumentation_adds_it_to_an_app_and_shares_its_signals() -> None:
    app = FastAPI()

    @app.get("/hi")
    async def hi() -> dict[str, str]:
        return {"hi": "there"}

    signals = install_instrumentation(app)
    assert app.state.signals is signals
    signals.register_gauge("custom", lambda: 3.0)
    async with _client(app) as client:
        await client.get("/hi")
        metrics = (await client.get("/_bench/metrics")).json()
    assert metrics["requests_total"] == 1 and metrics["gauges"]["custom"]["now"] == 3.0


def test_is_asgi() -> None:
    class App:
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    assert is_asgi(bare) and is_asgi(App()) and is_asgi(FastAPI())
    assert not is_asgi(App) and not is_asgi(42) and not is_asgi(lambda s, r, w: None)


@pytest.fixture
def module_dir(tmp_path: Path) -> Path:
    (tmp_path / "usermod_x.py").write_text(
        "from fastapi import FastAPI\n"
        "app = FastAPI()\n"
        "def make():\n    return FastAPI()\n"
        "def broken():\n    raise KeyError('DATABASE_URL')\n"
        "NOT_AN_APP = 'text'\n"
    )
    yield tmp_path
    sys.modules.pop("usermod_x", None)


def test_load_finds_an_app_and_a_factory(module_dir: Path) -> None:
    assert isinstance(load(AppSpec("usermod_x:app", app_dir=str(module_dir))), FastAPI)
    assert isinstance(load(AppSpec("usermod_x:make", True, str(module_dir))), FastAPI)


@pytest.mark.parametrize(
    ("spec", "factory", "words"),
    [
        ("usermod_x:nope", False, "has no attribute 'nope'"),
        ("usermod_x:NOT_AN_APP", False, "is not an ASGI app (got str)"),
        ("usermod_x:make", False, "add --factory"),
        ("usermod_x:broken", True, "raised: KeyError: 'DATABASE_URL'"),
        ("usermod_x:NOT_AN_APP", True, "is not callable"),
        ("nosuch_module_y:app", False, "no module named 'nosuch_module_y'"),
    ],
)
def test_load_errors_are_one_line(module_dir: Path, spec: str, factory: bool, words: str) -> None:
    with pytest.raises(AppLoadError) as raised:
        load(AppSpec(spec, factory, str(module_dir)))
    assert words in str(raised.value) and "\n" not in str(raised.value)
