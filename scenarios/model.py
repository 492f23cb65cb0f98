"""Frozen, validated scenario objects; errors name the field, the loader adds the file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

VARIANTS = ("sync", "async", "pitfall", "fixed", "antipattern")
CONCURRENCY = ("users", "threadpool", "serial", "process_pool", "cpu")
MAX_USERS = 5000
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")


class ScenarioError(ValueError):
    """A scenario or suite that cannot be used; the message names the field."""


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


def parse_users(value: object, what: str = "users") -> tuple[int, ...]:
    """``[10, 50]`` or ``"10,50"`` → ``(10, 50)``; every level 1..MAX_USERS."""
    items: list[Any]
    if isinstance(value, str):
        items = [p.strip() for p in value.split(",") if p.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
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

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise ScenarioError("endpoints.label: must not be empty")
        if self.variant not in VARIANTS:
            raise ScenarioError(
                f"endpoints.variant: {self.variant!r} is not one of {', '.join(VARIANTS)}"
            )
        if not self.path.startswith("/") or self.path.startswith("//"):
            raise ScenarioError(f"endpoints.path: {self.path!r} must start with a single /")
        if self.concurrency not in CONCURRENCY:
            raise ScenarioError(
                f"endpoints.concurrency: {self.concurrency!r} is not one of "
                f"{', '.join(CONCURRENCY)}"
            )

    def render(self, parameters: Mapping[str, Any]) -> Endpoint:
        """Fill ``{param}`` placeholders from the scenario parameters."""
        try:
            return replace(
                self,
                path=self.path.format(**parameters),
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

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", self.name):
            raise ScenarioError(f"name: {self.name!r} must be lower-case letters, digits, - or _")
        if not self.endpoints:
            raise ScenarioError("endpoints: a scenario needs at least one endpoint")
        labels = [e.label for e in self.endpoints]
        if len(set(labels)) != len(labels):
            raise ScenarioError(f"endpoints.label: labels must be unique, got {labels}")
        if self.duration_s < 1:
            raise ScenarioError(f"duration: must be at least 1s, got {self.duration_s:g}s")
        if not 1 <= self.repeat <= 100:
            raise ScenarioError(f"repeat: must be 1..100, got {self.repeat}")
        unknown = set(self.services) - {"upstream", "database"}
        if unknown:
            raise ScenarioError(f"services: unknown {sorted(unknown)}; known: upstream, database")
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    @property
    def title(self) -> str:
        """The description with its ``{param}`` placeholders filled."""
        try:
            return self.description.format(**{**self.settings, **self.parameters})
        except (KeyError, IndexError, ValueError):
            return self.description

    def rendered_endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(e.render(self.parameters) for e in self.endpoints)

    def with_overrides(
        self,
        users: tuple[int, ...] | None = None,
        duration_s: float | None = None,
        warmup_s: float | None = None,
        repeat: int | None = None,
        parameters: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Scenario:
        return replace(
            self,
            users=users if users is not None else self.users,
            duration_s=duration_s if duration_s is not None else self.duration_s,
            warmup_s=warmup_s if warmup_s is not None else self.warmup_s,
            repeat=repeat if repeat is not None else self.repeat,
            parameters={**self.parameters, **(parameters or {})},
            settings={**self.settings, **(settings or {})},
        )

    def only(self, labels: object, what: str = "endpoints") -> Scenario:
        """The scenario restricted to the endpoints with these labels (in file order)."""
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) for x in labels)
        ):
            raise ScenarioError(f"{what}: expected a non-empty list of endpoint labels")
        known = [e.label for e in self.endpoints]
        unknown = [x for x in labels if x not in known]
        if unknown:
            raise ScenarioError(f"{what}: unknown endpoint(s) {unknown}; {self.name} has {known}")
        return replace(self, endpoints=tuple(e for e in self.endpoints if e.label in labels))

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
                    "concurrency": e.concurrency,
                    "service_ms": e.service_ms,
                    "calls": e.calls,
                    "max_rps": e.max_rps,
                    "limits": list(e.limits),
                    "note": e.note,
                }
                for e in self.rendered_endpoints()
            ],
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
