"""One endpoint of a scenario: what the load generator sends, and its capacity model.

An HTTP endpoint is a request (method, path, headers, a JSON body, the statuses it expects); a
WebSocket endpoint (``protocol = "websocket"``) is a connection per user on which it sends a text
``message`` and waits for the answer, again and again, with ``idle`` more connections held open
beside it. Both carry the capacity model's expressions, filled from the scenario's parameters by
``render``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from scenarios.errors import ScenarioError

VARIANTS = ("sync", "async", "pitfall", "fixed", "antipattern")
CONCURRENCY = ("users", "threadpool", "serial", "process_pool", "cpu")
NO_MODEL = ""  # the concurrency of an endpoint whose scenario gives no model
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
WEBSOCKET = "websocket"
PROTOCOLS = ("http", WEBSOCKET)
MAX_IDLE = 10_000  # idle WebSocket connections beside a measurement
MAX_MESSAGE = 65_536


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a scenario and what bounds its capacity (for the capacity model)."""

    label: str
    variant: str
    path: str
    concurrency: str = "users"
    service_ms: str = "0"
    calls: str = "1"
    max_rps: str = ""
    limits: tuple[str, ...] = ()
    note: str = ""
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""  # JSON text of the request body ("" = none); its strings are templated
    expect_status: tuple[int, ...] = ()  # () = any 2xx
    expect_body: str = ""  # a text the response body must contain ("" = anything)
    solo: bool = True  # measured on its own (False: only inside a [[mix]])
    # "websocket": each user holds one connection and sends ``message`` back to back, a sample
    # per message answered; ``idle`` more connections stay open, silent, beside it
    protocol: str = "http"
    message: str = ""
    idle: int = 0

    @property
    def modelled(self) -> bool:
        return self.concurrency != NO_MODEL

    def expects(self, status: int) -> bool:
        return status in self.expect_status if self.expect_status else 200 <= status < 300

    def request(self, weight: float = 1.0) -> dict[str, Any]:
        """What the load generator sends for this endpoint (``locustfiles/protocol.py``)."""
        return {
            "name": self.label,
            "method": self.method,
            "path": self.path,
            "headers": [list(h) for h in self.headers],
            "body": self.body,
            "expect_status": list(self.expect_status),
            "weight": weight,
            **self._websocket(),
        }

    def _websocket(self) -> dict[str, Any]:
        """A WebSocket endpoint's own fields (an HTTP one's request is as it always was)."""
        if self.protocol != WEBSOCKET:
            return {}
        return {"protocol": self.protocol, "message": self.message or "hello", "idle": self.idle}

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise ScenarioError("endpoints.label: must not be empty")
        if self.variant not in VARIANTS:
            raise ScenarioError(
                f"endpoints.variant: {self.variant!r} is not one of {', '.join(VARIANTS)}"
            )
        if not self.path.startswith("/") or self.path.startswith("//"):
            raise ScenarioError(f"endpoints.path: {self.path!r} must start with a single /")
        if self.concurrency not in (*CONCURRENCY, NO_MODEL):
            raise ScenarioError(
                f"endpoints.concurrency: {self.concurrency!r} is not one of "
                f"{', '.join(CONCURRENCY)}"
            )
        if self.method not in METHODS:
            raise ScenarioError(
                f"endpoints.method: {self.method!r} of {self.label!r} is not one of "
                f"{', '.join(METHODS)}"
            )
        bad = [code for code in self.expect_status if not 100 <= code <= 599]
        if bad:
            raise ScenarioError(f"endpoints.expect_status: {bad} are not HTTP status codes")
        self._check_protocol()

    def _check_protocol(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ScenarioError(
                f"endpoints.protocol: {self.protocol!r} of {self.label!r} is not one of "
                f"{', '.join(PROTOCOLS)}"
            )
        if self.protocol == "http":
            given = [k for k, v in (("message", self.message), ("idle", self.idle)) if v]
            if given:
                raise ScenarioError(
                    f"endpoints.{given[0]}: {self.label!r} is HTTP; "
                    'only a protocol = "websocket" endpoint takes it'
                )
            return
        wrong = [
            name
            for name, value in (
                ("method", self.method != "GET"),
                ("json", self.body),
                ("expect_status", self.expect_status),
            )
            if value
        ]
        if wrong:
            raise ScenarioError(
                f"endpoints.{wrong[0]}: {self.label!r} is a WebSocket (a GET upgrade, then text "
                "messages): it takes message and idle, not method, json or expect_status"
            )
        if not 0 <= self.idle <= MAX_IDLE:
            raise ScenarioError(f"endpoints.idle: must be 0..{MAX_IDLE}, got {self.idle}")
        if len(self.message.encode()) > MAX_MESSAGE:
            raise ScenarioError(f"endpoints.message: at most {MAX_MESSAGE} bytes")

    def render(self, parameters: Mapping[str, Any]) -> Endpoint:
        """Fill ``{param}`` placeholders from the scenario parameters."""
        try:
            return replace(
                self,
                path=self.path.format(**parameters),
                body=_render_json(self.body, parameters),
                expect_body=self.expect_body.format(**parameters),
                headers=tuple((k, v.format(**parameters)) for k, v in self.headers),
                message=self.message.format(**parameters),
                service_ms=str(self.service_ms).format(**parameters),
                calls=str(self.calls).format(**parameters),
                max_rps=str(self.max_rps).format(**parameters),
                limits=tuple(str(limit).format(**parameters) for limit in self.limits),
            )
        except KeyError as exc:
            raise ScenarioError(
                f"endpoints.path: placeholder {exc} of {self.label!r} has no parameter"
            ) from None
        except (ValueError, IndexError) as exc:  # "{ms" unclosed, "{}" positional…
            raise ScenarioError(
                f"endpoints: a placeholder of {self.label!r} is malformed ({exc}); "
                "write {name} with a parameter name"
            ) from None


def _render_json(body: str, parameters: Mapping[str, Any]) -> str:
    """Fill ``{param}`` in every string of a JSON body (keys and numbers stay as written)."""
    if not body:
        return body

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.format(**parameters)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return json.dumps(fill(json.loads(body)), separators=(",", ":"))
