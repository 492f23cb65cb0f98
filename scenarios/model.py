"""Frozen, validated scenario objects; errors name the field, the loader adds the file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from scenarios.endpoint import (  # re-exported: the scenario's parts, one module each
    CONCURRENCY,
    METHODS,
    NO_MODEL,
    PROTOCOLS,
    VARIANTS,
    WEBSOCKET,
    Endpoint,
)
from scenarios.errors import ScenarioError
from scenarios.shape import Matrix, ServerShape

__all__ = [
    "CONCURRENCY",
    "METHODS",
    "NO_MODEL",
    "PROTOCOLS",
    "VARIANTS",
    "Endpoint",
    "Mix",
    "Scenario",
    "ScenarioError",
    "Suite",
]

MIX = "mix"  # the variant of a measurement that drives several endpoints at once
MAX_USERS = 5000
MAX_RATE = 100_000.0  # requests/s of the open model
ARRIVALS = ("constant", "poisson")  # the open model's spacing (locustfiles/protocol.ARRIVALS)
DEFAULT_MAX_IN_FLIGHT = 2000
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")


def parse_duration(value: object, what: str = "duration") -> float:
    """``"15s"``, ``"500ms"``, ``"2m"`` or a number of seconds → seconds (float)."""
    if isinstance(value, bool):
        raise ScenarioError(f"{what}: expected a duration like 15s, 500ms or 2m, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ScenarioError(f"{what}: expected a duration like 15s, 500ms or 2m, got {value!r}")
        number, unit = float(match.group(1)), match.group(2) or "s"
        seconds = number * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]
    if seconds < 0 or seconds > 3600:
        raise ScenarioError(f"{what}: must be between 0 and 1 hour, got {value!r}")
    return seconds


def _items(value: object) -> list[Any]:
    """A list of levels as written: ``"10,50"``, ``[10, 50]`` or one value."""
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def parse_users(value: object, what: str = "users") -> tuple[int, ...]:
    """``[10, 50]`` or ``"10,50"`` → ``(10, 50)``; every level 1..MAX_USERS."""
    items = _items(value)
    levels = []
    for item in items:
        try:
            level = int(item)
        except (TypeError, ValueError):
            raise ScenarioError(f"{what}: {item!r} is not a whole number of users") from None
        if isinstance(item, float | bool) or not 1 <= level <= MAX_USERS:
            raise ScenarioError(
                f"{what}: each level must be a whole number 1..{MAX_USERS}, got {item!r}"
            )
        levels.append(level)
    if not levels:
        raise ScenarioError(f"{what}: give at least one users level, e.g. 10,50,100")
    return tuple(levels)


def parse_rates(value: object, what: str = "rates") -> tuple[float, ...]:
    """``[100, 400]`` or ``"100,400"`` → ``(100.0, 400.0)``: requests/s, each 0 < r ≤ MAX_RATE."""
    items = _items(value)
    rates = []
    for item in items:
        try:
            rate = float(item)
        except (TypeError, ValueError):
            raise ScenarioError(f"{what}: {item!r} is not a rate in requests/s") from None
        if isinstance(item, bool) or not 0 < rate <= MAX_RATE:
            raise ScenarioError(
                f"{what}: each rate must be a number of requests/s in (0, {MAX_RATE:,.0f}], "
                f"got {item!r}"
            )
        rates.append(rate)
    if not rates:
        raise ScenarioError(f"{what}: give at least one rate, e.g. 100,200,400")
    return tuple(rates)


@dataclass(frozen=True)
class Mix:
    """Several endpoints of a scenario driven at the same time, each with a share of requests."""

    label: str
    parts: tuple[tuple[str, float], ...]  # (endpoint label, weight)
    note: str = ""

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise ScenarioError("mix.label: must not be empty")
        if len(self.parts) < 2:
            raise ScenarioError(f"mix {self.label!r}: give at least two endpoints")
        for name, weight in self.parts:
            if not weight > 0:
                raise ScenarioError(f"mix {self.label!r}: weight of {name!r} must be > 0")

    def shares(self) -> dict[str, float]:
        total = sum(w for _, w in self.parts)
        return {name: w / total for name, w in self.parts}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    endpoints: tuple[Endpoint, ...]
    users: tuple[int, ...]
    duration_s: float
    warmup_s: float
    repeat: int = 1
    tags: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    services: tuple[str, ...] = ()
    source: str = ""
    mixes: tuple[Mix, ...] = ()
    app: str = ""  # a user's ASGI app, module:attr (served by the harness)
    factory: bool = False
    app_dir: str = ""
    target: str = ""  # a server already running (nothing started)
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    checks: tuple[str, ...] = ()  # checks that fail the build (harness/analysis/checks.py)
    # the open model: requests/s sent on a schedule, instead of users levels (one or the other)
    rates: tuple[float, ...] = ()
    arrivals: str = "constant"  # or "poisson"
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT  # the open model's cap on requests in flight
    # the server's shape (scenarios/shape.py): one, or a matrix that ``expanded`` turns into one
    # scenario per combination, named ``<base>-<suffix>``
    matrix: Matrix = field(default_factory=Matrix.single)
    base: str = ""  # the scenario's name before a matrix's suffix ('' when not expanded)

    def __post_init__(self) -> None:
        self._check_levels()
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", self.name):
            raise ScenarioError(f"name: {self.name!r} must be lower-case letters, digits, - or _")
        if not self.endpoints:
            raise ScenarioError("endpoints: a scenario needs at least one endpoint")
        labels = [e.label for e in self.endpoints]
        if len(set(labels)) != len(labels):
            raise ScenarioError(f"endpoints.label: labels must be unique, got {labels}")
        self._check_mixes(labels)
        if self.app and self.target:
            raise ScenarioError("app and target: give one (an app to serve, or a running server)")
        if self.duration_s < 1:
            raise ScenarioError(f"duration: must be at least 1s, got {self.duration_s:g}s")
        if not 1 <= self.repeat <= 100:
            raise ScenarioError(f"repeat: must be 1..100, got {self.repeat}")
        unknown = set(self.services) - {"upstream", "database"}
        if unknown:
            raise ScenarioError(f"services: unknown {sorted(unknown)}; known: upstream, database")
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))

    def _check_levels(self) -> None:
        """Users levels (closed model) or rates (open model, with its spacing and cap)."""
        if self.rates and self.users:
            raise ScenarioError(
                "users and rates: give one, users levels (closed model) or rates (open model)"
            )
        if not self.rates and not self.users:
            raise ScenarioError("users: give users levels (closed model) or rates (open model)")
        if self.arrivals not in ARRIVALS:
            raise ScenarioError(f"arrivals: {self.arrivals!r} is not {' or '.join(ARRIVALS)}")
        if not 1 <= self.max_in_flight <= MAX_USERS:
            raise ScenarioError(f"max_in_flight: must be 1..{MAX_USERS}, got {self.max_in_flight}")

    def _check_mixes(self, labels: list[str]) -> None:
        sockets = {e.label for e in self.endpoints if e.protocol == WEBSOCKET}
        if sockets and self.rates:
            raise ScenarioError(
                "rates: the open model sends HTTP requests; a WebSocket endpoint "
                f"({sorted(sockets)[0]!r}) is measured by users (connections)"
            )
        for mix in self.mixes:
            if sockets & {name for name, _ in mix.parts}:
                raise ScenarioError(
                    f"mix {mix.label!r}: a WebSocket endpoint is measured on its own "
                    "(a user holds one connection to one path)"
                )
            missing = [name for name, _ in mix.parts if name not in labels]
            if missing:
                raise ScenarioError(f"mix {mix.label!r}: unknown endpoint(s) {missing}")
            if mix.label in labels:
                raise ScenarioError(f"mix {mix.label!r}: an endpoint has the same label")

    @property
    def title(self) -> str:
        """The description with its ``{param}`` placeholders filled."""
        try:
            return self.description.format(**{**self.settings, **self.parameters})
        except (KeyError, IndexError, ValueError):
            return self.description

    def rendered_endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(e.render(self.parameters) for e in self.endpoints)

    @property
    def measured_labels(self) -> tuple[str, ...]:
        """The labels a run's table will hold for this scenario: every endpoint measured alone,
        every mix, and each endpoint of a mix as "<endpoint> (in <mix>)"."""
        labels = [e.label for e in self.endpoints if e.solo]
        for mix in self.mixes:
            labels += [mix.label, *(f"{name} (in {mix.label})" for name, _ in mix.parts)]
        return tuple(labels)

    def with_overrides(
        self,
        users: tuple[int, ...] | None = None,
        duration_s: float | None = None,
        warmup_s: float | None = None,
        repeat: int | None = None,
        parameters: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Scenario:
        """Options over the file's values; users levels replace the open model's rates."""
        return replace(
            self,
            users=users if users is not None else self.users,
            rates=() if users is not None else self.rates,
            duration_s=duration_s if duration_s is not None else self.duration_s,
            warmup_s=warmup_s if warmup_s is not None else self.warmup_s,
            repeat=repeat if repeat is not None else self.repeat,
            parameters={**self.parameters, **(parameters or {})},
            settings={**self.settings, **(settings or {})},
        )

    @property
    def server(self) -> ServerShape:
        """The shape this scenario is served with (the first of a matrix not yet expanded)."""
        return self.matrix.shapes()[0]

    @property
    def base_name(self) -> str:
        return self.base or self.name

    def expanded(self) -> list[Scenario]:
        """One scenario per combination of the matrix (itself when there is one shape)."""
        shapes = self.matrix.shapes()
        if len(shapes) == 1:
            return [self]
        return [
            replace(
                self,
                name=f"{self.name}-{self.matrix.suffix(shape)}",
                base=self.name,
                matrix=Matrix.single(shape),
            )
            for shape in shapes
        ]

    def with_rates(self, rates: tuple[float, ...] | None) -> Scenario:
        """Measured by these rates (the open model) instead of its users levels; None: as is."""
        return self if rates is None else replace(self, users=(), rates=rates)

    def only(self, labels: object, what: str = "endpoints") -> Scenario:
        """The scenario restricted to the endpoints with these labels (in file order)."""
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) for x in labels)
        ):
            raise ScenarioError(f"{what}: expected a non-empty list of endpoint labels")
        known = [e.label for e in self.endpoints] + [m.label for m in self.mixes]
        unknown = [x for x in labels if x not in known]
        if unknown:
            raise ScenarioError(f"{what}: unknown endpoint(s) {unknown}; {self.name} has {known}")
        mixes = tuple(m for m in self.mixes if m.label in labels)
        needed = {name for m in mixes for name, _ in m.parts}
        endpoints = tuple(
            e if e.label in labels else replace(e, solo=False)
            for e in self.endpoints
            if e.label in labels or e.label in needed
        )
        return replace(self, endpoints=endpoints, mixes=mixes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.title,
            "tags": list(self.tags),
            "users": list(self.users),
            "duration_s": self.duration_s,
            "warmup_s": self.warmup_s,
            "repeat": self.repeat,
            "parameters": dict(self.parameters),
            "settings": dict(self.settings),
            "services": list(self.services),
            "source": self.source,
            "endpoints": [
                {
                    "label": e.label,
                    "variant": e.variant,
                    "path": e.path,
                    "method": e.method,
                    "concurrency": e.concurrency,
                    "service_ms": e.service_ms,
                    "calls": e.calls,
                    "max_rps": e.max_rps,
                    "limits": list(e.limits),
                    "note": e.note,
                    "expect_status": list(e.expect_status),
                    "solo": e.solo,
                    **({"protocol": e.protocol, "idle": e.idle} if e.protocol != "http" else {}),
                }
                for e in self.rendered_endpoints()
            ],
            "mixes": [
                {"label": m.label, "parts": [list(p) for p in m.parts], "note": m.note}
                for m in self.mixes
            ],
            "app": self.app,
            "factory": self.factory,
            "app_dir": self.app_dir,
            "target": self.target,
            "env": dict(self.env),
            "checks": list(self.checks),
            "server": self.server.to_dict(),
            **({"base": self.base} if self.base else {}),
            **self._open_model(),
        }

    def _open_model(self) -> dict[str, Any]:
        """The open model's fields, only for a scenario measured by rates (older records and
        closed-model ones are unchanged)."""
        if not self.rates:
            return {}
        return {
            "rates": list(self.rates),
            "arrivals": self.arrivals,
            "max_in_flight": self.max_in_flight,
        }


@dataclass(frozen=True)
class Suite:
    """A named list of scenarios run into one run folder, with optional shared overrides."""

    name: str
    description: str
    scenarios: tuple[str, ...]
    users: tuple[int, ...] | None = None
    duration_s: float | None = None
    warmup_s: float | None = None
    repeat: int | None = None
    tags: tuple[str, ...] = ()
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    source: str = ""

    def __post_init__(self) -> None:
        if not self.scenarios:
            raise ScenarioError("scenarios: a suite needs at least one scenario")
