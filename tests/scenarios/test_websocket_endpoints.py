"""WebSocket endpoints in scenario files: what they take, what they refuse, what they send."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import resolve
from scenarios.loader import load_file
from scenarios.model import Endpoint, ScenarioError

SCENARIO = """
name = "ws"
description = "d"
users = [10]
[[endpoints]]
label = "echo"
variant = "async"
protocol = "websocket"
path = "/ws/echo?ms={{ms}}"
message = "ping {{ms}}"
idle = 100
{extra}
[parameters]
ms = 5
"""


def _load(tmp_path: Path, extra: str = "", tail: str = "") -> object:
    path = tmp_path / "ws.toml"
    path.write_text(SCENARIO.format(extra=extra) + tail)
    return load_file(path)


def test_a_websocket_endpoint_sends_its_message_with_its_idle_connections(
    tmp_path: Path,
) -> None:
    scenario = _load(tmp_path)
    (endpoint,) = scenario.rendered_endpoints()  # type: ignore[attr-defined]
    assert (endpoint.protocol, endpoint.path, endpoint.message) == (
        "websocket",
        "/ws/echo?ms=5",
        "ping 5",
    )
    request = endpoint.request()
    assert request["protocol"] == "websocket" and request["idle"] == 100
    assert request["message"] == "ping 5"
    record = scenario.to_dict()["endpoints"][0]  # type: ignore[attr-defined]
    assert record["protocol"] == "websocket" and record["idle"] == 100


def test_an_http_endpoint_sends_what_it_always_sent() -> None:
    endpoint = Endpoint("a", "async", "/async/hello")
    assert "protocol" not in endpoint.request() and endpoint.protocol == "http"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"protocol": "grpc"}, "endpoints.protocol: 'grpc' of 'e' is not one of http, websocket"),
        ({"idle": 5}, "endpoints.idle: 'e' is HTTP; only a protocol"),
        ({"message": "x"}, "endpoints.message: 'e' is HTTP"),
        ({"protocol": "websocket", "method": "POST"}, "endpoints.method: 'e' is a WebSocket"),
        ({"protocol": "websocket", "body": "{}"}, "endpoints.json: 'e' is a WebSocket"),
        ({"protocol": "websocket", "idle": 10_001}, "endpoints.idle: must be 0..10000"),
        ({"protocol": "websocket", "message": "x" * 70_000}, "endpoints.message: at most 65536"),
    ],
)
def test_what_does_not_belong_to_its_protocol_is_refused(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message.replace(".", r"\.")):
        Endpoint("e", "async", "/x", **fields)  # type: ignore[arg-type]


def test_a_websocket_endpoint_is_not_driven_by_rates_nor_mixed(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="the open model sends HTTP requests"):
        _load(tmp_path).with_rates((100.0,))  # type: ignore[attr-defined]
    parts = '[{ label = "echo", weight = 1 }, { label = "hello", weight = 1 }]'
    mix = f'\n[[mix]]\nlabel = "m"\nendpoints = {parts}\n'
    hello = '[[endpoints]]\nlabel = "hello"\nvariant = "async"\npath = "/async/hello"\n'
    with pytest.raises(ScenarioError, match="a WebSocket endpoint is measured on its own"):
        _load(tmp_path, extra=hello, tail=mix)


def test_the_bundled_websocket_scenarios_load() -> None:
    for name in ("websocket", "websocket-idle"):
        _, (scenario,) = resolve(name)
        assert {e.protocol for e in scenario.endpoints} == {"websocket"}
    _, (idle,) = resolve("websocket-idle")
    assert [e.idle for e in idle.endpoints] == [0, 1000, 4000]
