"""The starter scenario: GET routes it can call with values from the schema, TODOs for the
rest with the reason, the framework's own routes left out, nothing guessed that could be wrong."""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from harness.scan.routes import routes
from harness.scan.starter import Target, starter
from scenarios import load_file
from target_app.foreign import AppSpec


class Color(StrEnum):
    red = "red"
    blue = "blue"


def _fastapi() -> FastAPI:
    app = FastAPI()

    @app.get("/colors/{color}")
    async def color(color: Color) -> dict[str, str]:
        return {}

    @app.get("/items/{item_id}")
    def item(item_id: int, q: Annotated[str, Query(examples=["a b"])]) -> dict[str, str]:
        return {}

    @app.get("/search")
    async def search(limit: int) -> dict[str, str]:
        return {}

    @app.get("/page")
    async def page(size: int = 20) -> dict[str, str]:
        return {}

    @app.get("/files/{name:path}")
    async def files(name: str) -> dict[str, str]:
        return {}

    @app.delete("/items/{item_id}")
    async def drop(item_id: int) -> dict[str, str]:
        return {}

    return app


def _text(app: object, target: Target) -> str:
    openapi = app.openapi() if isinstance(app, FastAPI) else {}
    return starter(target, routes(app), openapi)


def test_values_come_from_the_schema_and_the_rest_are_todos(tmp_path: Path) -> None:
    target = Target(AppSpec("my_pkg.main:create", factory=True), "s.toml", "src", ("DB_URL",))
    text = _text(_fastapi(), target)
    data = tomllib.loads(text)
    paths = {e["label"]: e["path"] for e in data["endpoints"]}
    assert paths == {
        "GET /colors/{color}": "/colors/red",  # the enum's first value ($ref followed)
        "GET /items/{item_id}": "/items/1?q=a+b",  # an integer path parameter: 1
        "GET /page": "/page",  # an optional query parameter is left out
    }
    assert "# TODO: GET /search — no example or default for the query parameter 'limit'" in text
    assert "# TODO: GET /files/{name:path} — no example or default for the path parameter" in text
    assert "# TODO: DELETE /items/{item_id} — not a GET route" in text
    assert "openapi" not in text and "/docs" not in text  # FastAPI's own routes
    assert data["name"] == "my-pkg-main" and data["factory"] is True and data["app_dir"] == "src"
    assert data["duration"] == "10s" and data["users"] == [10, 50]
    assert not [e for e in data["endpoints"] if "model" in e]
    assert '# DB_URL = "…"' in text and "Capacity model" in text


def test_a_starlette_app_without_schema(tmp_path: Path) -> None:
    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = Starlette(routes=[Route("/", home), Route("/u/{id:int}", home), Route("/n/{n}", home)])
    text = _text(app, Target(AppSpec("site:app"), "s.toml"))
    data = tomllib.loads(text)
    assert [(e["label"], e["path"]) for e in data["endpoints"]] == [
        ("GET /", "/"),
        ("GET /u/{id:int}", "/u/1"),  # Starlette's int convertor
    ]
    assert "# TODO: GET /n/{n} — a path parameter without a schema" in text


def test_the_file_loads_as_a_scenario(tmp_path: Path) -> None:
    out = tmp_path / "s.toml"
    out.write_text(_text(_fastapi(), Target(AppSpec("m:app"), str(out), ".")))
    scenario = load_file(out)
    assert scenario.app == "m:app" and scenario.app_dir == str(tmp_path.resolve())  # type: ignore[union-attr]
    assert [e.variant for e in scenario.endpoints] == ["async", "sync", "async"]  # type: ignore[union-attr]


def test_no_callable_route_says_what_to_do() -> None:
    app = FastAPI()

    @app.post("/only")
    async def only() -> dict[str, str]:
        return {}

    text = _text(app, Target(AppSpec("m:app"), "s.toml"))
    assert "No GET route could be called as it is" in text
    assert "endpoints" not in tomllib.loads(text)
