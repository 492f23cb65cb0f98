"""The missing-``await`` pitfall: what the client and the server log really get.

An un-awaited coroutine warns ``RuntimeWarning: coroutine '…' was never awaited`` when it is
garbage-collected. pytest turns warnings into errors here, so each pitfall test expects that
warning explicitly and forces the collection inside ``pytest.warns`` (``gc.collect()``).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.exceptions import ResponseValidationError

from target_app.main import create_app
from target_app.settings import Settings

NEVER_AWAITED = r"^coroutine '{}' was never awaited$"


async def collected(record: pytest.WarningsRecorder, name: str, tries: int = 100) -> None:
    """Collect until the coroutine's warning is out: the exception that reached the error
    middleware (and its traceback, which holds the coroutine) may be let go a moment later than
    the response, by the task that ran the app (seen once in a CI run: the warning came at the
    test's teardown instead)."""
    for _ in range(tries):
        gc.collect()
        if any(name in str(w.message) for w in record):
            return
        await asyncio.sleep(0.01)


@pytest.fixture
def app() -> FastAPI:
    return create_app(Settings())


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """What a real client sees: app exceptions become a 500, as behind a server."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_missing_await_gives_the_client_a_bare_500(client: httpx.AsyncClient) -> None:
    with pytest.warns(RuntimeWarning, match=NEVER_AWAITED.format("fetch_item")) as record:
        response = await client.get("/pitfall/missing-await", params={"item_id": 7})
        await collected(record, "fetch_item")
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Internal Server Error"


async def test_missing_await_raises_response_validation_error(app: FastAPI) -> None:
    """The server-side exception (what the log shows): the coroutine object is the response."""
    transport = httpx.ASGITransport(app=app)  # raise_app_exceptions=True
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with pytest.warns(RuntimeWarning, match=NEVER_AWAITED.format("fetch_item")) as record:
            with pytest.raises(ResponseValidationError) as excinfo:
                await client.get("/pitfall/missing-await", params={"item_id": 7})
            [error] = excinfo.value.errors()
            assert error["type"] == "dict_type"
            assert error["loc"] == ("response",)
            assert error["msg"] == "Input should be a valid dictionary"
            assert inspect.iscoroutine(error["input"])
            assert error["input"].__qualname__ == "fetch_item"
            del error, excinfo
            await collected(record, "fetch_item")


async def test_fixed_missing_await_returns_the_item(client: httpx.AsyncClient) -> None:
    response = await client.get("/fixed/missing-await", params={"item_id": 7})
    assert response.status_code == 200
    assert response.json() == {"item_id": 7, "name": "item 7"}


async def test_missing_await_side_effect_silently_skips_the_work(
    client: httpx.AsyncClient,
) -> None:
    with pytest.warns(RuntimeWarning, match=NEVER_AWAITED.format("write_audit")):
        response = await client.get("/pitfall/missing-await-side-effect", params={"item_id": 7})
        gc.collect()
    assert response.status_code == 200  # a success, yet the audit entry was never written
    assert response.json() == {"item_id": 7, "audit": []}


async def test_fixed_missing_await_side_effect_does_the_work(client: httpx.AsyncClient) -> None:
    response = await client.get("/fixed/missing-await-side-effect", params={"item_id": 7})
    assert response.status_code == 200
    assert response.json() == {"item_id": 7, "audit": ["read item 7"]}


@pytest.mark.parametrize(
    "path",
    [
        "/pitfall/missing-await",
        "/fixed/missing-await",
        "/pitfall/missing-await-side-effect",
        "/fixed/missing-await-side-effect",
    ],
)
@pytest.mark.parametrize("item_id", ["-1", "1000001", "x"])
async def test_item_id_is_validated(client: httpx.AsyncClient, path: str, item_id: str) -> None:
    response = await client.get(path, params={"item_id": item_id})
    assert response.status_code == 422
