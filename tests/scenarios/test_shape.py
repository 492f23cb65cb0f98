"""Server shapes and matrices: validation, combinations, names, and the scenario file's tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import resolve
from scenarios.loader import load_file
from scenarios.model import ScenarioError
from scenarios.shape import Matrix, ServerShape, ShapeError, parse_values


def test_the_default_shape_is_uvicorns_one_worker_with_its_own_choices() -> None:
    shape = ServerShape()
    assert (shape.server, shape.workers, shape.loop, shape.http) == ("uvicorn", 1, "auto", "auto")
    assert shape.is_default
    assert shape.resolved_loop in ("uvloop", "asyncio")
    assert shape.label().startswith("uvicorn, 1 worker, loop auto (")
    assert ServerShape.from_dict(None) == shape
    assert ServerShape.from_dict(ServerShape(workers=2).to_dict()) == ServerShape(workers=2)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"workers": 0}, "workers: must be 1..64, got 0"),
        ({"workers": 65}, "workers: must be 1..64"),
        ({"workers": True}, "workers: expected a whole number"),
        ({"loop": "trio"}, "loop: 'trio' is not one of auto, asyncio, uvloop"),
        ({"http": "h2"}, "http: 'h2' is not one of auto, h11, httptools"),
        ({"server": "hypercorn"}, "server: 'hypercorn' is not one of uvicorn, gunicorn"),
    ],
)
def test_a_bad_shape_names_its_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ShapeError, match=message.replace("(", r"\(").replace(".", r"\.")):
        ServerShape(**fields)  # type: ignore[arg-type]


def test_a_choice_that_is_not_installed_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("scenarios.shape.installed", lambda module: module != "uvicorn_worker")
    with pytest.raises(ShapeError, match="pip install uvicorn-worker"):
        ServerShape(server="gunicorn").check_installed()
    ServerShape(loop="uvloop").check_installed()  # installed: no error


def test_a_matrix_is_every_combination_the_last_dimension_fastest() -> None:
    matrix = Matrix.single().over({"workers": (1, 2), "loop": ("asyncio", "uvloop")})
    shapes = matrix.shapes()
    assert [(s.workers, s.loop) for s in shapes] == [
        (1, "asyncio"),
        (1, "uvloop"),
        (2, "asyncio"),
        (2, "uvloop"),
    ]
    assert matrix.varying == ("workers", "loop")
    assert [matrix.suffix(s) for s in shapes] == [
        "w1-asyncio",
        "w1-uvloop",
        "w2-asyncio",
        "w2-uvloop",
    ]
    assert Matrix.single().suffix(ServerShape()) == ""


def test_a_matrix_refuses_repeats_unknown_dimensions_and_bad_values() -> None:
    with pytest.raises(ShapeError, match="repeated"):
        Matrix.single().over({"workers": (2, 2)})
    with pytest.raises(ShapeError, match="not a server dimension"):
        Matrix.single().over({"threads": (1,)})
    with pytest.raises(ShapeError, match="loop"):
        Matrix.single().over({"loop": ("asyncio", "curio")})


@pytest.mark.parametrize(
    ("dimension", "value", "expected"),
    [
        ("workers", "1,2", (1, 2)),
        ("workers", 4, (4,)),
        ("workers", [1, 3], (1, 3)),
        ("loop", "asyncio, uvloop", ("asyncio", "uvloop")),
        ("server", ["gunicorn"], ("gunicorn",)),
    ],
)
def test_values_come_from_toml_or_the_command_line(
    dimension: str, value: object, expected: tuple[object, ...]
) -> None:
    assert parse_values(dimension, value) == expected


def test_a_value_that_is_not_a_number_of_workers_is_refused() -> None:
    with pytest.raises(ShapeError, match="workers: expected whole numbers"):
        parse_values("workers", "two")


def test_a_scenario_expands_into_one_scenario_per_shape_named_by_what_varies() -> None:
    _, (sleep,) = resolve("sleep")
    assert sleep.expanded() == [sleep] and sleep.base_name == "sleep"
    from dataclasses import replace

    matrix = Matrix.single().over({"workers": (1, 2)})
    expanded = replace(sleep, matrix=matrix).expanded()
    assert [s.name for s in expanded] == ["sleep-w1", "sleep-w2"]
    assert [s.base_name for s in expanded] == ["sleep", "sleep"]
    assert [s.server.workers for s in expanded] == [1, 2]
    record = expanded[1].to_dict()
    assert record["base"] == "sleep" and record["server"]["workers"] == 2
    assert "base" not in sleep.to_dict() and sleep.to_dict()["server"]["workers"] == 1


SCENARIO = """
name = "shaped"
description = "d"
users = [10]
{tables}
[[endpoints]]
label = "a"
variant = "async"
path = "/async/hello"
"""


def _load(tmp_path: Path, tables: str) -> object:
    path = tmp_path / "shaped.toml"
    path.write_text(SCENARIO.format(tables=tables))
    return load_file(path)


def test_a_scenario_file_names_its_server_and_its_matrix(tmp_path: Path) -> None:
    scenario = _load(
        tmp_path, '[server]\nserver = "gunicorn"\n[matrix]\nworkers = [1, 2]\nloop = ["asyncio"]\n'
    )
    names = [s.name for s in scenario.expanded()]  # type: ignore[attr-defined]
    assert names == ["shaped-w1", "shaped-w2"]
    assert {s.server.server for s in scenario.expanded()} == {"gunicorn"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ("[server]\nworkers = [1, 2]\n", "server.workers: one value; a list belongs in"),
        ("[server]\nworkers = 2\n[matrix]\nworkers = [1, 2]\n", "given in both"),
        ("[matrix]\nloop = ['curio']\n", "loop: 'curio' is not one of"),
        ("[matrix]\nthreads = [1]\n", "threads: not a server dimension"),
        ("[matrix]\nworkers = ['x']\n", "workers: expected whole numbers"),
        ("server = 3\n", "server: expected a table"),
    ],
)
def test_a_bad_server_table_names_the_file_and_field(
    tmp_path: Path, tables: str, message: str
) -> None:
    with pytest.raises(ScenarioError, match=r"shaped\.toml: .*" + message.replace("[", r"\[")):
        _load(tmp_path, tables)
