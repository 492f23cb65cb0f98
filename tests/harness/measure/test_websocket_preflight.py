"""The preflight of a WebSocket endpoint: one message answered before any load, or one line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, WebSocket

from harness.errors import BenchError
from harness.measure.app import App, check_endpoints
from scenarios.model import Endpoint
from target_app.main import create_app
from target_app.settings import Settings
from tests.target_app.conftest import serve


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    with serve(create_app(Settings()), ws="websockets-sansio") as url:
        yield App(None, 0, base_url=url)


def ws(path: str, message: str = "") -> Endpoint:
    return Endpoint("echo", "async", path, protocol="websocket", message=message)


def test_an_echo_that_answers_passes(app: App) -> None:
    check_endpoints(app, [ws("/ws/echo?ms=1", "ping")], timeout_s=5.0)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/ws/nosuch", "refused the WebSocket upgrade with HTTP 403"),
        ("/async/hello", "refused the WebSocket upgrade with HTTP 403"),  # an HTTP route
        ("/ws/echo?ms=99999", "refused the WebSocket upgrade with HTTP 403"),  # a bad query
    ],
)
def test_a_path_that_is_not_a_websocket_is_one_line(app: App, path: str, words: str) -> None:
    with pytest.raises(BenchError, match=words) as caught:
        check_endpoints(app, [ws(path)], timeout_s=5.0)
    assert str(caught.value).startswith(f"endpoint 'echo' (WebSocket {path})")
    assert "\n" not in str(caught.value)


def test_a_handler_that_closes_without_answering_is_one_line() -> None:
    closing = FastAPI()

    @closing.websocket("/ws/close")
    async def close(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        await websocket.close(code=1011)

    with serve(closing, ws="websockets-sansio") as url:
        with pytest.raises(BenchError, match="did not answer a message before the load"):
            check_endpoints(App(None, 0, base_url=url), [ws("/ws/close")], timeout_s=5.0)
