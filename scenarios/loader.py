"""Find and load scenario files; every error names the file and the field.

A name resolves to ``scenarios/<name>.toml`` (a scenario or a suite); a path to a ``.toml`` file
is loaded as given, so users can keep their own scenarios outside the package.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.analysis.capacity import ModelError, evaluate
from harness.analysis.checks import CheckError, parse, validate
from scenarios.model import (
    NO_MODEL,
    Endpoint,
    Mix,
    Scenario,
    ScenarioError,
    Suite,
    parse_duration,
    parse_rates,
    parse_users,
)
from scenarios.shape import Matrix, ShapeError, parse_values

SCENARIO_DIR = Path(__file__).resolve().parent
_SCENARIO_KEYS = {
    "kind",
    "server",
    "matrix",
    "name",
    "description",
    "tags",
    "users",
    "duration",
    "warmup",
    "repeat",
    "parameters",
    "settings",
    "services",
    "endpoints",
    "mix",
    "app",
    "factory",
    "app_dir",
    "target",
    "env",
    "checks",
    "rates",
    "arrivals",
    "max_in_flight",
}
_ENDPOINT_KEYS = {
    "label",
    "variant",
    "path",
    "model",
    "note",
    "method",
    "headers",
    "json",
    "expect_status",
    "expect_body",
    "solo",
    "protocol",
    "message",
    "idle",
}
_MIX_KEYS = {"label", "endpoints", "note"}
_MODEL_KEYS = {"concurrency", "service_ms", "calls", "limits", "max_rps"}
_SUITE_KEYS = {
    "kind",
    "name",
    "description",
    "tags",
    "scenarios",
    "users",
    "duration",
    "warmup",
    "repeat",
    "overrides",
}
_OVERRIDE_KEYS = {"users", "duration", "warmup", "repeat", "parameters", "settings", "endpoints"}


def available() -> dict[str, Scenario | Suite]:
    """Every scenario and suite shipped in ``scenarios/``, by name."""
    found: dict[str, Scenario | Suite] = {}
    for path in sorted(SCENARIO_DIR.glob("*.toml"), key=lambda p: p.stem):
        item = load_file(path)
        found[item.name] = item
    return found


def load_file(path: Path) -> Scenario | Suite:
    """Parse and validate one TOML file; raise ``ScenarioError("<file>: <field>: …")``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    try:
        if data.get("kind", "scenario") == "suite":
            return _suite(data, path)
        if data.get("kind", "scenario") != "scenario":
            raise ScenarioError(f"kind: must be 'scenario' or 'suite', got {data['kind']!r}")
        return _scenario(data, path)
    except ScenarioError as exc:
        raise ScenarioError(f"{path.name}: {exc}") from None


def resolve(name_or_path: str) -> tuple[Scenario | Suite, list[Scenario]]:
    """A scenario name, suite name or file path → (what was asked for, scenarios to run)."""
    candidate = Path(name_or_path)
    if name_or_path.endswith(".toml"):
        if not candidate.is_file():
            raise ScenarioError(f"{name_or_path}: no such scenario file")
        item = load_file(candidate)
        known = None
    else:
        known = available()
        if name_or_path not in known:
            names = ", ".join(sorted(known))
            raise ScenarioError(f"unknown scenario {name_or_path!r}; known: {names}")
        item = known[name_or_path]
    if isinstance(item, Scenario):
        return item, [item]
    known = known if known is not None else available()
    return item, _apply_suite(item, known)


def _apply_suite(suite: Suite, known: dict[str, Scenario | Suite]) -> list[Scenario]:
    scenarios = []
    for name in suite.scenarios:
        item = known.get(name)
        if not isinstance(item, Scenario):
            names = ", ".join(sorted(n for n, v in known.items() if isinstance(v, Scenario)))
            where = Path(suite.source).name if suite.source else suite.name
            raise ScenarioError(
                f"{where}: scenarios: {name!r} is not a known scenario; known: {names}"
            )
        scenario = item.with_overrides(
            users=suite.users,
            duration_s=suite.duration_s,
            warmup_s=suite.warmup_s,
            repeat=suite.repeat,
        )
        extra = suite.overrides.get(name, {})
        scenario = scenario.with_overrides(
            users=parse_users(extra["users"], f"overrides.{name}.users")
            if "users" in extra
            else None,
            duration_s=_opt_duration(extra, "duration", name),
            warmup_s=_opt_duration(extra, "warmup", name),
            repeat=_opt_int(extra, "repeat", name),
            parameters=extra.get("parameters"),
            settings=extra.get("settings"),
        )
        if "endpoints" in extra:
            scenario = scenario.only(extra["endpoints"], f"overrides.{name}.endpoints")
        scenarios.append(scenario)
    return scenarios


def _opt_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    return _require(dict(data), key, int, f"overrides.{where}.") if key in data else None


def _opt_duration(data: Mapping[str, Any], key: str, where: str) -> float | None:
    return parse_duration(data[key], f"overrides.{where}.{key}") if key in data else None


def _check_keys(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        prefix = f"{where.rstrip('.')}: " if where else ""
        raise ScenarioError(f"{prefix}unknown field(s) {', '.join(unknown)}")


def _require(data: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
    if key not in data:
        raise ScenarioError(f"{where}{key}: missing")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ScenarioError(f"{where}{key}: expected {kind.__name__}, got {value!r}")
    return value


def _str_list(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioError(f"{key}: expected a list of strings, got {value!r}")
    return tuple(value)


def _endpoint(raw: object, index: int) -> Endpoint:
    where = f"endpoints[{index}]."
    if not isinstance(raw, dict):
        raise ScenarioError(f"endpoints[{index}]: expected a table")
    _check_keys(raw, _ENDPOINT_KEYS, where)
    model = raw.get("model", {"concurrency": NO_MODEL})
    if not isinstance(model, dict):
        raise ScenarioError(f"{where}model: expected a table")
    _check_keys(model, _MODEL_KEYS, f"{where}model.")
    limits = model.get("limits", [])
    if not isinstance(limits, list):
        raise ScenarioError(f"{where}model.limits: expected a list")
    return Endpoint(
        label=_require(raw, "label", str, where),
        variant=_require(raw, "variant", str, where),
        path=_require(raw, "path", str, where),
        concurrency=str(model.get("concurrency", "users")),
        service_ms=str(model.get("service_ms", "0")),
        calls=str(model.get("calls", "1")),
        max_rps=str(model.get("max_rps", "")),
        limits=tuple(str(x) for x in limits),
        note=str(raw.get("note", "")),
        method=str(raw.get("method", "GET")).upper(),
        headers=_headers(raw.get("headers", {}), where),
        body=json.dumps(raw["json"], separators=(",", ":")) if "json" in raw else "",
        expect_status=_statuses(raw.get("expect_status", []), where),
        expect_body=str(raw.get("expect_body", "")),
        solo=bool(_require(raw, "solo", bool, where)) if "solo" in raw else True,
        protocol=str(raw.get("protocol", "http")),
        message=_require(raw, "message", str, where) if "message" in raw else "",
        idle=_require(raw, "idle", int, where) if "idle" in raw else 0,
    )


def _headers(value: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value.values()
    ):
        raise ScenarioError(f'{where}headers: expected a table of name = "value"')
    return tuple((str(k), str(v)) for k, v in value.items())


def _statuses(value: object, where: str) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise ScenarioError(f"{where}expect_status: expected a status code or a list of them")
    return tuple(v for v in items if isinstance(v, int))


def _mixes(data: dict[str, Any]) -> tuple[Mix, ...]:
    raw_mixes = data.get("mix", [])
    if not isinstance(raw_mixes, list):
        raise ScenarioError("mix: expected [[mix]] tables")
    mixes = []
    for index, raw in enumerate(raw_mixes):
        where = f"mix[{index}]."
        if not isinstance(raw, dict):
            raise ScenarioError(f"mix[{index}]: expected a table")
        _check_keys(raw, _MIX_KEYS, where)
        parts = []
        for part in _require(raw, "endpoints", list, where):
            if not isinstance(part, dict) or set(part) - {"label", "weight"}:
                raise ScenarioError(f"{where}endpoints: expected {{ label = …, weight = … }}")
            weight = part.get("weight", 1)
            if not isinstance(weight, int | float) or isinstance(weight, bool):
                raise ScenarioError(f"{where}endpoints: weight must be a number, got {weight!r}")
            parts.append((_require(part, "label", str, f"{where}endpoints."), float(weight)))
        mixes.append(
            Mix(_require(raw, "label", str, where), tuple(parts), str(raw.get("note", "")))
        )
    return tuple(mixes)


def _where_app(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """``app``/``factory``/``app_dir``/``target``/``env``: ``app_dir`` is relative to the file."""
    found: dict[str, Any] = {}
    for key, kind in (("app", str), ("target", str), ("app_dir", str), ("factory", bool)):
        if key in data:
            found[key] = _require(data, key, kind)
    if "app_dir" in found:
        found["app_dir"] = str((path.parent / found["app_dir"]).resolve())
    env = data.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in env.values()
    ):
        raise ScenarioError('env: expected a table of NAME = "value"')
    found["env"] = {str(k): str(v) for k, v in env.items()}
    return found


def _scenario(data: dict[str, Any], path: Path) -> Scenario:
    _check_keys(data, _SCENARIO_KEYS, "")
    endpoints = [_endpoint(raw, i) for i, raw in enumerate(_require(data, "endpoints", list))]
    parameters = data.get("parameters", {})
    settings = data.get("settings", {})
    for key, value in (("parameters", parameters), ("settings", settings)):
        if not isinstance(value, dict):
            raise ScenarioError(f"{key}: expected a table")
    scenario = Scenario(
        name=_require(data, "name", str),
        description=_require(data, "description", str),
        tags=_str_list(data, "tags"),
        endpoints=tuple(endpoints),
        **_levels(data),
        duration_s=parse_duration(data.get("duration", "10s"), "duration"),
        warmup_s=parse_duration(data.get("warmup", "2s"), "warmup"),
        repeat=_require(data, "repeat", int) if "repeat" in data else 1,
        parameters=parameters,
        settings=settings,
        services=_str_list(data, "services"),
        source=str(path),
        mixes=_mixes(data),
        checks=_str_list(data, "checks"),
        matrix=_matrix(data),
        **_where_app(data, path),
    )
    _check_checks(scenario)
    for endpoint in scenario.rendered_endpoints():  # every placeholder must have a parameter
        if endpoint.modelled:
            check_model(endpoint, scenario.parameters)
    return scenario


def _matrix(data: dict[str, Any]) -> Matrix:
    """``[server]`` (one value per dimension) and ``[matrix]`` (lists: every combination), e.g.
    ``[matrix] workers = [1, 2]``, ``loop = ["asyncio", "uvloop"]``; a dimension in one only."""
    values: dict[str, tuple[Any, ...]] = {}
    for table in ("server", "matrix"):
        raw = data.get(table, {})
        if not isinstance(raw, dict):
            raise ScenarioError(f"{table}: expected a table, e.g. [{table}] workers = 2")
        for key, value in raw.items():
            if key in values:
                raise ScenarioError(f"{table}.{key}: given in both [server] and [matrix]")
            if table == "server" and isinstance(value, list):
                raise ScenarioError(f"server.{key}: one value; a list belongs in [matrix]")
            try:
                values[key] = parse_values(key, value)
            except ShapeError as exc:
                raise ScenarioError(f"{table}.{exc}") from None
    try:
        return Matrix.single().over(values)
    except ShapeError as exc:
        raise ScenarioError(f"server: {exc}") from None


def _levels(data: dict[str, Any]) -> dict[str, Any]:
    """``users = [...]`` (the closed model) or ``rates = [...]`` (the open model, with its
    ``arrivals`` and ``max_in_flight``), never both."""
    if "rates" not in data:
        for key in ("arrivals", "max_in_flight"):
            if key in data:
                raise ScenarioError(f"{key}: only with rates = [...] (the open model)")
        return {"users": parse_users(_require(data, "users", list))}
    if "users" in data:
        raise ScenarioError(
            "users and rates: give one, users levels (closed model) or rates (open model)"
        )
    found: dict[str, Any] = {"users": (), "rates": parse_rates(_require(data, "rates", list))}
    if "arrivals" in data:
        found["arrivals"] = _require(data, "arrivals", str)
    if "max_in_flight" in data:
        found["max_in_flight"] = _require(data, "max_in_flight", int)
    return found


def _check_checks(scenario: Scenario) -> None:
    """Each of ``checks = ["…"]`` parses and names endpoints of this scenario."""
    for index, text in enumerate(scenario.checks):
        try:
            validate([parse(text, scope=scenario.name)], [scenario], users=False)
        except CheckError as exc:
            raise ScenarioError(f"checks[{index}]: {exc}") from None


class _AnyName(dict[str, float]):
    """Every name is known (as 1.0) unless given: a load-time check of the expressions' form."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> float:
        return 1.0


def check_model(endpoint: Endpoint, parameters: Mapping[str, Any]) -> None:
    """Every model expression of an endpoint is arithmetic the capacity model can evaluate
    (names the app reports only at run time are accepted: their value is not known yet)."""
    names = _AnyName({k: float(v) for k, v in parameters.items() if isinstance(v, int | float)})
    for field, expression in (
        ("service_ms", endpoint.service_ms),
        ("calls", endpoint.calls),
        ("max_rps", endpoint.max_rps),
        *(("limits", limit) for limit in endpoint.limits),
    ):
        if field == "max_rps" and not expression:
            continue
        try:
            evaluate(expression, names)
        except ModelError as exc:
            raise ScenarioError(f"endpoint {endpoint.label!r}: model.{field}: {exc}") from None


def _suite(data: dict[str, Any], path: Path) -> Suite:
    _check_keys(data, _SUITE_KEYS, "")
    overrides = data.get("overrides", {})
    if not isinstance(overrides, dict):
        raise ScenarioError("overrides: expected a table of scenario tables")
    for name, extra in overrides.items():
        if not isinstance(extra, dict):
            raise ScenarioError(f"overrides.{name}: expected a table")
        _check_keys(extra, _OVERRIDE_KEYS, f"overrides.{name}.")
    stray = sorted(set(overrides) - set(_str_list(data, "scenarios")))
    if stray:
        raise ScenarioError(f"overrides: {', '.join(stray)} not in this suite's scenarios")
    return Suite(
        name=_require(data, "name", str),
        description=_require(data, "description", str),
        tags=_str_list(data, "tags"),
        scenarios=_str_list(data, "scenarios"),
        users=parse_users(data["users"]) if "users" in data else None,
        duration_s=parse_duration(data["duration"], "duration") if "duration" in data else None,
        warmup_s=parse_duration(data["warmup"], "warmup") if "warmup" in data else None,
        repeat=int(data["repeat"]) if "repeat" in data else None,
        overrides=overrides,
        source=str(path),
    )
