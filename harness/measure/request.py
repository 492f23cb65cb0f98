"""What the user asked for, checked in one place and turned into scenarios and run options.

``bench run`` hands its raw option values to ``prepare``; every bad value becomes one
``OptionError`` naming the option ("Invalid value for --users: …"), before any process starts or
any folder is made. The runner then trusts what it is given.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from harness.errors import BenchError
from harness.measure.app import Source
from harness.measure.calibration import calibrations
from harness.measure.distributed import check_reach, cluster_of
from harness.measure.loadgen import CLIENTS
from harness.measure.pinning import OPTIONS as CPU_OPTIONS
from harness.measure.pinning import Pinning, PlanError, parse_cpus
from harness.measure.plan import RunOptions
from harness.measure.services import DATABASES, ServiceOptions
from scenarios import Scenario, Suite, resolve
from scenarios.model import ARRIVALS, ScenarioError, parse_duration, parse_rates, parse_users
from scenarios.shape import Matrix, ShapeError, parse_values
from target_app.foreign import AppLoadError, AppSpec
from target_app.settings import Settings

MAX_UPSTREAM_LATENCY_S = 10.0
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 0.1, 600.0
# Scenario fields that a command-line option overrides: a bad value names the option.
_OVERRIDDEN = {"users": "--users", "duration": "--duration", "warmup": "--warmup"}


class OptionError(BenchError):
    """A bad command-line value: names the option and where to read about it."""

    def __init__(self, option: str, message: str, command: str = "bench run") -> None:
        super().__init__(f"Invalid value for {option}: {message} (see: {command} --help)")


@dataclass(frozen=True)
class RunRequest:
    """``bench run``'s options as typed on the command line (strings where the user wrote one)."""

    scenario: str
    users: str | None = None
    rate: str | None = None  # the open model: requests/s levels, e.g. "100,200,400"
    arrivals: str | None = None  # constant | poisson (with rates)
    max_in_flight: int | None = None  # with rates
    duration: str | None = None
    warmup: str | None = None
    repeat: int | None = None
    out: Path | str = "reports"
    port: int = 0
    threadpool_tokens: int | None = None
    params: Sequence[str] = ()
    settings: Sequence[str] = ()
    client: str = "raw"
    # Locust's distributed mode: local worker processes, remote ones, the master's address
    loadgen_processes: int = 1
    loadgen_remote: int = 0
    master_bind: str = ""
    database: str = "postgres"
    database_url: str | None = None
    upstream_latency: str | None = None
    timeout: str = "30s"
    calibrate: bool = True
    command: tuple[str, ...] = field(default=())
    allow_concurrent: bool = False
    app: str | None = None
    factory: bool = False
    app_dir: str | None = None
    env: Sequence[str] = ()
    target: str | None = None
    checks: Sequence[str] = ()  # --check texts, parsed and validated by the CLI
    # the CPUs of each role ("0-3,6"; None: planned), and whether roles may share one
    app_cpus: str | None = None
    loadgen_cpus: str | None = None
    services_cpus: str | None = None
    allow_shared_cores: bool = False
    # the server's shape: one value, or a list ("1,2") for a matrix (scenarios/shape.py)
    workers: str | None = None
    loop: str | None = None
    http: str | None = None
    server: str | None = None


@dataclass(frozen=True)
class Prepared:
    label: str
    scenarios: list[Scenario]
    options: RunOptions


def prepare(request: RunRequest) -> Prepared:
    """Validate every option, resolve the scenario and apply the overrides."""
    parameters = parse_params(request.params, "--param")
    if request.upstream_latency is not None:
        latency_s = _seconds("--upstream-latency", request.upstream_latency)
        if latency_s > MAX_UPSTREAM_LATENCY_S:
            raise OptionError("--upstream-latency", f"must be at most {MAX_UPSTREAM_LATENCY_S:g}s")
        parameters["latency_ms"] = round(latency_s * 1000)
    options = RunOptions(
        out=_out_dir(request.out),
        port=request.port,
        client=_one_of("--client", request.client, tuple(CLIENTS)),
        request_timeout_s=_timeout(request.timeout),
        settings=_app_settings(request),
        services=ServiceOptions(
            database=_one_of("--database", request.database, DATABASES),
            database_url=_database_url(request.database_url),
        ),
        command=request.command,
        allow_concurrent=request.allow_concurrent,
        source=source(request),
        checks=tuple(" ".join(text.split()) for text in request.checks),
        cluster=cluster_of(request.loadgen_processes, request.loadgen_remote, request.master_bind),
        pinning=pinning(request),
    )
    item, scenarios = _scenarios(request, parameters)
    scenarios = _shaped(scenarios, request, options.source)
    if options.cluster.distributed and any(s.rates for s in scenarios):
        raise OptionError("--rate", "the open model runs in one Locust process (no --loadgen-*)")
    idle = [e.label for s in scenarios for e in s.endpoints if e.idle]
    if options.cluster.distributed and idle:
        raise OptionError(
            "--loadgen-processes",
            f"{idle[0]!r} holds idle WebSocket connections: one Locust process opens them",
        )
    check_reach(options.cluster, request.target)
    bundled = all(options.source.over(s).kind == "bundled" for s in scenarios)
    if not bundled and request.threadpool_tokens is not None:
        raise OptionError(
            "--threadpool-tokens",
            "sizes the bundled app's thread pool; your app keeps its own (the run records it)",
        )
    # the calibration measures the bundled app's hello endpoints: meaningless for another app
    if request.calibrate and bundled:
        scenarios[:0] = calibrations(scenarios)
    return Prepared(item.name, scenarios, options)


def pinning(request: RunRequest) -> Pinning:
    """``--app-cpus``/``--loadgen-cpus``/``--services-cpus``/``--allow-shared-cores``: the plan,
    checked against the CPUs this process may use (the roles not given are planned)."""
    texts = {"app": request.app_cpus, "loadgen": request.loadgen_cpus}
    texts["services"] = request.services_cpus
    given = {}
    for role, text in texts.items():
        if text is None:
            continue
        try:
            given[role] = parse_cpus(text)
        except ValueError as exc:
            raise OptionError(CPU_OPTIONS[role], str(exc)) from None
    try:
        return Pinning.plan(given=given, allow_shared=request.allow_shared_cores)
    except PlanError as exc:
        raise OptionError(exc.option, str(exc)) from None


def source(request: RunRequest) -> Source:
    """``--app``/``--factory``/``--app-dir``/``--env``/``--target``, checked."""
    env = parse_params(request.env, "--env", numbers=False)
    if request.app and request.target:
        raise OptionError("--target", "give --app (an app to serve) or --target, not both")
    if not request.app and (request.factory or request.app_dir):
        option = "--factory" if request.factory else "--app-dir"
        raise OptionError(option, "applies to --app module:attr")
    if request.target:
        return Source(target=_target(request.target, request.client), env=env)
    if not request.app:
        return Source(env=env)
    app_dir = ""
    if request.app_dir:
        folder = Path(request.app_dir)
        if not folder.is_dir():
            raise OptionError("--app-dir", f"{request.app_dir}: no such folder")
        app_dir = str(folder.resolve())
    try:
        spec = AppSpec(request.app, request.factory, app_dir)
    except AppLoadError as exc:
        raise OptionError("--app", str(exc)) from None
    return Source(spec.spec, spec.factory, spec.app_dir, env=env)


def _target(url: str, client: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionError("--target", f"expected http://HOST:PORT, got {url!r}")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise OptionError("--target", f"give the server's base URL without a path, got {url!r}")
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise OptionError("--target", f"bad port in {url!r}") from None
    if parts.scheme == "https" and client == "raw":
        raise OptionError("--target", "the raw client speaks plain HTTP: add --client fasthttp")
    return f"{parts.scheme}://{parts.netloc}"


def _scenarios(
    request: RunRequest, parameters: dict[str, Any]
) -> tuple[Scenario | Suite, list[Scenario]]:
    users = _users(request.users)
    rates = _rates(request.rate)
    if users is not None and rates is not None:
        raise OptionError("--rate", "give --users (closed model) or --rate (open model), not both")
    duration_s = _seconds("--duration", request.duration) if request.duration else None
    warmup_s = _seconds("--warmup", request.warmup) if request.warmup else None
    item, scenarios = resolve(request.scenario)
    _check_params_used(parse_params(request.params, "--param"), scenarios)
    try:
        scenarios = [
            _open_model(
                s.with_overrides(
                    users, duration_s, warmup_s, request.repeat, parameters
                ).with_rates(rates),
                request,
            )
            for s in scenarios
        ]
    except ScenarioError as exc:
        field_name, _, message = str(exc).partition(": ")
        if field_name in _OVERRIDDEN:
            raise OptionError(_OVERRIDDEN[field_name], message) from None
        raise
    for s in scenarios:
        s.rendered_endpoints()  # a placeholder without its parameter fails here, before any load
    return item, scenarios


def _shaped(scenarios: list[Scenario], request: RunRequest, source: Source) -> list[Scenario]:
    """``--workers``/``--loop``/``--http``/``--server`` over each scenario's shape; a list makes
    a matrix, which becomes one scenario per combination (each served by its own app)."""
    given = {
        name: value
        for name, value in (
            ("workers", request.workers),
            ("loop", request.loop),
            ("http", request.http),
            ("server", request.server),
        )
        if value is not None
    }
    values: dict[str, tuple[Any, ...]] = {}
    for name, value in given.items():
        try:
            values[name] = parse_values(name, value)
            Matrix.single().over({name: values[name]})
        except ShapeError as exc:
            raise OptionError(f"--{name}", str(exc).removeprefix(f"{name}: ")) from None
    out: list[Scenario] = []
    for scenario in scenarios:
        where = source.over(scenario)
        if where.kind == "target" and (values or not scenario.server.is_default):
            option = f"--{next(iter(values))}" if values else "--target"
            raise OptionError(
                option, "the server at --target is yours: its shape is as you started it"
            )
        shaped = replace(scenario, matrix=scenario.matrix.over(values))
        for shape in shaped.matrix.shapes():
            try:
                shape.check_installed()
            except ShapeError as exc:
                raise OptionError(f"--{_dimension_of(exc)}", str(exc)) from None
        out += shaped.expanded()
    return out


def _dimension_of(exc: ShapeError) -> str:
    text = str(exc)
    return "server" if text.startswith("gunicorn") else "http" if "httptools" in text else "loop"


def parse_params(values: Sequence[str], option: str, numbers: bool = True) -> dict[str, Any]:
    """``KEY=VALUE`` items (whole numbers become ints, unless ``numbers`` is False)."""
    parsed: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise OptionError(option, f"expected KEY=VALUE, got {item!r}")
        parsed[key] = int(raw) if numbers and raw.lstrip("-").isdigit() else raw
    return parsed


def _app_settings(request: RunRequest) -> dict[str, Any]:
    """``--setting KEY=VALUE`` checked against the app's own settings model, plus the tokens."""
    parsed = parse_params(request.settings, "--setting")
    unknown = sorted(set(parsed) - set(Settings.model_fields))
    if unknown:
        known = ", ".join(sorted(Settings.model_fields))
        raise OptionError("--setting", f"unknown {', '.join(unknown)}; known: {known}")
    blank = Settings.model_construct()  # each value against its field (not the environment)
    for key, value in parsed.items():
        try:
            Settings.__pydantic_validator__.validate_assignment(blank, key, value)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise OptionError("--setting", f"{first['loc'][0]}: {first['msg']}") from None
    if request.threadpool_tokens is not None:
        parsed["threadpool_tokens"] = request.threadpool_tokens
    return parsed


def _check_params_used(given: dict[str, Any], scenarios: list[Scenario]) -> None:
    """A --param no scenario declares would be silently ignored: say so, with the known ones."""
    known = {key for s in scenarios for key in s.parameters}
    unknown = sorted(set(given) - known)
    if unknown:
        names = ", ".join(sorted(known)) or "none"
        raise OptionError(
            "--param", f"{', '.join(unknown)} is not a parameter here; known: {names}"
        )


def _timeout(value: str) -> float:
    seconds = _seconds("--timeout", value)
    if not MIN_TIMEOUT_S <= seconds <= MAX_TIMEOUT_S:
        raise OptionError(
            "--timeout", f"must be {MIN_TIMEOUT_S * 1000:g}ms..{MAX_TIMEOUT_S:g}s, got {value!r}"
        )
    return seconds


def _out_dir(given: Path | str) -> Path:
    """The folder that receives run folders: a folder we can write (made later if missing)."""
    if not str(given).strip():
        raise OptionError("--out", "must name a folder, got ''")
    out = probe = Path(given)
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == out else f"is under a file ({probe})"
        raise OptionError("--out", f"{out} {what}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OptionError("--out", f"{probe} is not writable")
    return out


def _users(value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        return parse_users(value, "--users")
    except ScenarioError as exc:
        raise OptionError("--users", str(exc).removeprefix("--users: ")) from None


def _rates(value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        return parse_rates(value, "--rate")
    except ScenarioError as exc:
        raise OptionError("--rate", str(exc).removeprefix("--rate: ")) from None


def _open_model(scenario: Scenario, request: RunRequest) -> Scenario:
    """``--arrivals`` and ``--max-in-flight`` over a scenario measured by rates (only then)."""
    given = {"arrivals": request.arrivals, "max_in_flight": request.max_in_flight}
    for key, value in given.items():
        if value is not None and not scenario.rates:
            option = "--" + key.replace("_", "-")
            raise OptionError(
                option,
                f"applies to the open model only: add --rate (or rates = [...] in {scenario.name})",
            )
    if scenario.rates and request.client != "raw":
        raise OptionError("--client", "the open model (rates) sends with the raw client only")
    if request.arrivals is not None:
        _one_of("--arrivals", request.arrivals, ARRIVALS)
    return replace(
        scenario,
        arrivals=request.arrivals or scenario.arrivals,
        max_in_flight=request.max_in_flight or scenario.max_in_flight,
    )


def _seconds(option: str, value: str) -> float:
    try:
        return parse_duration(value, option)
    except ScenarioError as exc:
        raise OptionError(option, str(exc).removeprefix(f"{option}: ")) from None


def _one_of(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise OptionError(option, f"{value!r} is not {' or '.join(choices)}")
    return value


def _database_url(url: str | None) -> str:
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        raise OptionError("--database-url", "expected a postgresql:// URL")
    return url or ""
