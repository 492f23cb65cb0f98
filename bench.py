"""bench — measure sync vs async FastAPI endpoints, honestly, and explain the result.

Thin CLI: parses options, calls ``harness``, prints results and paths. Every user error is one
line on stderr and a non-zero exit (2 for bad input, 130 for Ctrl-C), never a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from harness.errors import BenchError
from harness.progress import RichProgress
from scenarios.model import ScenarioError, parse_duration, parse_users

try:  # recent typer vendors click as typer._click: its exceptions are not click's
    from typer._click import exceptions as _typer_click
except ImportError:  # older typer raises click's own exceptions
    _typer_click = click.exceptions  # type: ignore[misc]
_USAGE_ERRORS = (click.UsageError, _typer_click.UsageError)
_NO_ARGS_HELP = tuple(
    m.NoArgsIsHelpError for m in (click.exceptions, _typer_click) if hasattr(m, "NoArgsIsHelpError")
)

console = Console(stderr=True, highlight=False)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


class OneLineErrors(TyperGroup):
    """Turn click usage errors and BenchErrors into ``error: …`` on one line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except _NO_ARGS_HELP as exc:  # `bench` alone: the help, as click would show it
            typer.echo(exc.format_message(), err=True)
            sys.exit(2)
        except _USAGE_ERRORS as exc:
            hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
            _fail(f"{exc.format_message()}{hint}", 2)
        except (BenchError, ScenarioError) as exc:
            _fail(str(exc), getattr(exc, "exit_code", 2))
        except (click.exceptions.Abort, typer.Abort):
            _fail("aborted", 130)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        if isinstance(result, int) and result:
            sys.exit(result)
        return result


def _fail(message: str, code: int) -> None:
    console.print(f"[bold red]error:[/] {' '.join(message.split())}", soft_wrap=True)
    sys.exit(code)


app = typer.Typer(
    cls=OneLineErrors,
    help="Benchmark sync vs async FastAPI endpoints with Locust; versioned results, HTML report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _users(value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        return parse_users(value, "--users")
    except ScenarioError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--users: "), param_hint="--users") from None


def _seconds(option: str, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value, option)
    except ScenarioError as exc:
        raise typer.BadParameter(str(exc).removeprefix(f"{option}: "), param_hint=option) from None


def _params(values: list[str], option: str = "--param") -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        parsed[key] = int(raw) if raw.lstrip("-").isdigit() else raw
    return parsed


def _settings(values: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` app settings, checked against the app's own settings model."""
    from pydantic import ValidationError

    from target_app.settings import Settings

    parsed = _params(values, "--setting")
    unknown = sorted(set(parsed) - set(Settings.model_fields))
    if unknown:
        known = ", ".join(sorted(Settings.model_fields))
        raise typer.BadParameter(f"unknown {', '.join(unknown)}; known: {known}",
                                 param_hint="--setting")  # fmt: skip
    try:  # each given value against its field's type and bounds (not the environment's)
        blank = Settings.model_construct()
        for key, value in parsed.items():
            Settings.__pydantic_validator__.validate_assignment(blank, key, value)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise typer.BadParameter(
            f"{first['loc'][0]}: {first['msg']}", param_hint="--setting"
        ) from None
    return parsed


@app.command("list")
def list_scenarios() -> None:
    """List the scenarios and suites, with a one-line description each."""
    from scenarios import Scenario, available

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("name")
    table.add_column("kind")
    table.add_column("users")
    table.add_column("description")
    for name, item in available().items():
        kind = type(item).__name__.lower()
        users = ",".join(map(str, item.users)) if item.users else "-"
        description = item.title if isinstance(item, Scenario) else item.description
        table.add_row(name, kind, users, description)
    out.print(table)


@app.command("run")
def run_command(
    scenario: Annotated[
        str, typer.Argument(help="scenario or suite name (see `bench list`), or a .toml file")
    ],
    users: Annotated[str | None, typer.Option(help="users levels, e.g. 10,50,100")] = None,
    duration: Annotated[
        str | None, typer.Option(help="measured window per measurement, e.g. 15s")
    ] = None,
    warmup: Annotated[str | None, typer.Option(help="warm-up before each window, e.g. 3s")] = None,
    repeat: Annotated[
        int | None, typer.Option(min=1, max=100, help="repeats of every measurement")
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="folder that receives the run folder")
    ] = Path("reports"),
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="app port on 127.0.0.1 (0: a free one)")
    ] = 0,
    threadpool_tokens: Annotated[
        int | None, typer.Option(min=1, max=10000, help="anyio thread-pool size (default 40)")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="scenario parameter KEY=VALUE, e.g. ms=50 (repeatable)")
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(help="app setting KEY=VALUE, e.g. db_pool_size=10 (repeatable; BENCH_KEY)"),
    ] = None,
    client: Annotated[
        str,
        typer.Option(help="load generator client: raw (lean) or fasthttp (Locust FastHttpUser)"),
    ] = "raw",
    database: Annotated[
        str, typer.Option(help="database of the DB scenarios: postgres (embedded) or sqlite")
    ] = "postgres",
    database_url: Annotated[
        str | None,
        typer.Option(help="use your own PostgreSQL (postgresql://user:pw@host/db) instead"),
    ] = None,
    upstream_latency: Annotated[
        str | None, typer.Option(help="latency of the upstream API calls, e.g. 50ms")
    ] = None,
    timeout: Annotated[str, typer.Option(help="per-request timeout of the load generator")] = "30s",
    report: Annotated[bool, typer.Option(help="build the HTML report when the run ends")] = True,
    calibrate: Annotated[
        bool,
        typer.Option(
            help="measure the baseline (hello) first when the run lacks it: the capacity "
            "model's CPU ceiling and per-request overhead"
        ),
    ] = True,
) -> None:
    """Run a scenario or suite: start the app, drive it with Locust, store and report results."""
    from harness import dependencies, runner
    from harness import report as report_mod
    from scenarios import resolve

    levels = _users(users)
    duration_s = _seconds("--duration", duration)
    warmup_s = _seconds("--warmup", warmup)
    timeout_s = _seconds("--timeout", timeout) or 30.0
    parameters = _params(param or [])
    if upstream_latency is not None:
        latency_s = _seconds("--upstream-latency", upstream_latency) or 0.0
        if latency_s > 10:
            raise typer.BadParameter("must be at most 10s", param_hint="--upstream-latency")
        parameters["latency_ms"] = round(latency_s * 1000)
    if database not in dependencies.DATABASES:
        raise typer.BadParameter(f"{database!r} is not postgres or sqlite", param_hint="--database")
    if database_url is not None and not database_url.startswith(("postgresql://", "postgres://")):
        raise typer.BadParameter("expected a postgresql:// URL", param_hint="--database-url")
    if client not in runner.CLIENTS:
        raise typer.BadParameter(f"{client!r} is not raw or fasthttp", param_hint="--client")
    if duration_s is not None and duration_s < 1:
        raise typer.BadParameter("must be at least 1s", param_hint="--duration")
    item, scenarios = resolve(scenario)
    scenarios = [
        s.with_overrides(
            users=levels,
            duration_s=duration_s,
            warmup_s=warmup_s,
            repeat=repeat,
            parameters=parameters,
        )
        for s in scenarios
    ]
    for s in scenarios:
        s.rendered_endpoints()
    if calibrate and not any(s.name == "baseline" for s in scenarios):
        scenarios.insert(0, runner.calibration(scenarios))
    settings: dict[str, Any] = _settings(setting or [])
    if threadpool_tokens is not None:
        settings["threadpool_tokens"] = threadpool_tokens
    options = runner.RunOptions(
        out=out_dir,
        port=port,
        client=client,
        request_timeout_s=timeout_s,
        settings=settings,
        dependencies=dependencies.Options(
            database=database,
            database_url=database_url or "",
            upstream_latency_ms=parameters.get("latency_ms"),
        ),
        command=("bench", *sys.argv[1:]),
    )
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        with RichProgress(console) as progress:
            run_dir, result = runner.run(item.name, scenarios, options, progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
    out.print(f"results: {run_dir / 'results.json'}", soft_wrap=True)
    if report:
        index = report_mod.build(run_dir)
        _print_table(run_dir)
        out.print(f"report: {index}", soft_wrap=True)


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _print_table(run_dir: Path) -> None:
    from harness import analysis, results

    run = results.load(run_dir)
    table = analysis.aggregate(analysis.summarize(run_dir, run))
    view = Table(box=None, header_style="bold", pad_edge=False)
    for column in (
        "scenario",
        "endpoint",
        "users",
        "RPS",
        "p50 ms",
        "p99 ms",
        "errors",
        "loadgen CPU",
    ):
        view.add_column(column, justify="left" if column in ("scenario", "endpoint") else "right")
    for r in table.itertuples():
        view.add_row(
            r.scenario,
            r.endpoint,
            str(r.users),
            f"{r.rps:,.1f}",
            f"{r.p50_ms:,.1f}",
            f"{r.p99_ms:,.1f}",
            str(r.errors),
            f"{r.loadgen_cpu_share:.0%}",
        )
    out.print(view)


@app.command("report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(help="a run folder, e.g. reports/latest")],
) -> None:
    """Rebuild a run's PNGs and index.html from its files alone."""
    from harness import report as report_mod

    index = report_mod.build(run_dir)
    out.print(f"report: {index}", soft_wrap=True)


@app.command("compare")
def compare_command(
    run_a: Annotated[Path, typer.Argument(help="the reference run folder (A)")],
    run_b: Annotated[Path, typer.Argument(help="the run to judge against it (B)")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="folder for compare.md and compare.html")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="compare even when the runs come from different machines")
    ] = False,
) -> None:
    """Compare two runs measurement by measurement: B / A, its uncertainty and a verdict."""
    from harness import compare

    target = (
        out_dir
        or run_b.resolve().parent / f"compare-{run_a.resolve().name}-vs-{run_b.resolve().name}"
    )
    rows, md_path, html_path = compare.write(run_a, run_b, target, force)
    view = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("scenario", "endpoint", "users", "A RPS", "B RPS", "B / A", "verdict"):
        view.add_column(
            column, justify="right" if column in ("users", "A RPS", "B RPS") else "left"
        )
    for r in rows:
        view.add_row(
            r.scenario,
            r.endpoint,
            str(r.users),
            f"{r.a_rps:,.1f}",
            f"{r.b_rps:,.1f}",
            r.change,
            r.verdict,
        )
    out.print(view)
    out.print(f"markdown: {md_path}", soft_wrap=True)
    out.print(f"html: {html_path}", soft_wrap=True)


@app.command("serve")
def serve_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="port on 127.0.0.1")] = 8000,
    threadpool_tokens: Annotated[
        int | None, typer.Option(min=1, max=10000, help="anyio thread-pool size")
    ] = None,
) -> None:
    """Serve the target app alone on 127.0.0.1 (Swagger UI at /docs) until Ctrl-C."""
    import uvicorn

    from harness.services import ensure_port_free

    ensure_port_free(port)
    if threadpool_tokens is not None:
        os.environ["BENCH_THREADPOOL_TOKENS"] = str(threadpool_tokens)
    out.print(
        f"serving http://127.0.0.1:{port}  (docs: http://127.0.0.1:{port}/docs, Ctrl-C stops)"
    )
    uvicorn.run(
        "target_app.main:app_from_env", factory=True, host="127.0.0.1", port=port, log_level="info"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
