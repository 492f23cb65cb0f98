"""bench — measure sync vs async FastAPI endpoints, honestly, and explain the result.

Thin CLI: parses options, calls ``harness``, prints results and paths. Every user error is one
line on stderr and a non-zero exit (2 for bad input, 130 for Ctrl-C), never a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from harness.errors import BenchError, Terminated
from scenarios.model import Scenario, ScenarioError
from target_app.secrets import mask_secrets

# Each command imports its wing when it runs (below), not here: `bench report` need not load the
# measuring side (SQLAlchemy, drivers, httpx), nor `bench run --help` the plotting side.

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
    line = mask_secrets(" ".join(message.split()))
    # the message is the user's text (paths, scenario names, values): printed as written, never
    # as rich markup or emoji codes ("[x]" would vanish, ":name:" turn into a picture)
    console.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True, emoji=False)
    sys.exit(code)


app = typer.Typer(
    cls=OneLineErrors,
    help="Benchmark sync vs async FastAPI endpoints with Locust; versioned results, HTML report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help wraps the descriptions and keeps every option name whole at 80 columns
    # (rich's boxed panels truncated "--threadpool-tokens" there)
    rich_markup_mode=None,
)


@app.command("list")
def list_scenarios() -> None:
    """List the scenarios and suites, with a one-line description each."""
    from harness.report import terminal
    from scenarios import available

    out.print(terminal.scenarios_table(available()))


@app.command(
    "run",
    epilog="Exit codes: 0 done and every check passed; 1 a check failed (the run and its "
    "report are kept); 2 bad input; 3 a process the run depends on died; 130 interrupted.",
)
def run_command(
    scenario: Annotated[
        str,
        typer.Argument(help="scenario or suite name (see `bench list`), or a .toml file"),
    ],
    users: Annotated[
        str | None, typer.Option(metavar="LEVELS", help="users levels, e.g. 10,50,100")
    ] = None,
    rate: Annotated[
        str | None,
        typer.Option(
            metavar="RATES",
            help="the open model instead of users: requests/s sent on a schedule, e.g. "
            "100,200,400 (latency from the intended send time)",
        ),
    ] = None,
    arrivals: Annotated[
        str | None,
        typer.Option(metavar="SPACING", help="with --rate: constant (default) or poisson"),
    ] = None,
    max_in_flight: Annotated[
        int | None,
        typer.Option(
            min=1, max=5000, help="with --rate: requests in flight at most (default 2000)"
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(metavar="DURATION", help="measured window per measurement, e.g. 15s"),
    ] = None,
    warmup: Annotated[
        str | None, typer.Option(metavar="DURATION", help="warm-up before each window, e.g. 3s")
    ] = None,
    repeat: Annotated[
        int | None, typer.Option(min=1, max=100, help="repeats of every measurement")
    ] = None,
    out_dir: Annotated[
        str, typer.Option("--out", metavar="DIR", help="folder that receives the run folder")
    ] = "reports",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="app port on 127.0.0.1 (0: a free one)")
    ] = 0,
    threadpool_tokens: Annotated[
        int | None, typer.Option(min=1, max=10000, help="anyio thread-pool size (default 40)")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY=VALUE", help="scenario parameter, e.g. ms=50 (repeatable)"),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY=VALUE", help="app setting, e.g. db_pool_size=10 (repeatable; BENCH_KEY)"
        ),
    ] = None,
    client: Annotated[
        str,
        typer.Option(
            metavar="CLIENT", help="load generator client: raw (lean) or fasthttp (FastHttpUser)"
        ),
    ] = "raw",
    database: Annotated[
        str,
        typer.Option(
            metavar="NAME", help="database of the DB scenarios: postgres (embedded) or sqlite"
        ),
    ] = "postgres",
    database_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="use your own PostgreSQL (postgresql://user:pw@host/db) instead"
        ),
    ] = None,
    upstream_latency: Annotated[
        str | None,
        typer.Option(metavar="DURATION", help="latency of the upstream API calls, e.g. 50ms"),
    ] = None,
    timeout: Annotated[
        str, typer.Option(metavar="DURATION", help="per-request timeout of the load generator")
    ] = "30s",
    report: Annotated[bool, typer.Option(help="build the HTML report when the run ends")] = True,
    allow_concurrent: Annotated[
        bool,
        typer.Option(help="start even if another run is measuring here (both reports flagged)"),
    ] = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            help="measure the baseline (hello) first when the run lacks it: the capacity "
            "model's CPU ceiling and per-request overhead"
        ),
    ] = True,
    loadgen_processes: Annotated[
        int,
        typer.Option(metavar="N", help="Locust processes here: N > 1 runs a master + N workers"),
    ] = 1,
    loadgen_remote: Annotated[
        int, typer.Option(metavar="N", help="wait for N more workers (bench worker elsewhere)")
    ] = 0,
    master_bind: Annotated[
        str,
        typer.Option(metavar="ADDR[:PORT]", help="the Locust master's address (127.0.0.1)"),
    ] = "",
    app_spec: Annotated[
        str | None,
        typer.Option(
            "--app",
            metavar="MODULE:ATTR",
            help="serve your own ASGI app instead of the bundled one, instrumented unchanged",
        ),
    ] = None,
    factory: Annotated[
        bool, typer.Option(help="--app names a function that returns the app")
    ] = False,
    app_dir: Annotated[
        str | None, typer.Option(metavar="DIR", help="folder to import --app from")
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY=VALUE", help="environment variable of the app (repeatable)"),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="measure a server already running, e.g. http://127.0.0.1:8000"
        ),
    ] = None,
    workers: Annotated[
        str | None,
        typer.Option(metavar="N", help="app worker processes, e.g. 2 (a list: 1,2 for a matrix)"),
    ] = None,
    loop: Annotated[
        str | None,
        typer.Option(metavar="LOOP", help="event loop: auto, asyncio or uvloop (or a list)"),
    ] = None,
    http: Annotated[
        str | None,
        typer.Option(metavar="PARSER", help="HTTP parser: auto, h11 or httptools (or a list)"),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(metavar="SERVER", help="uvicorn (default) or gunicorn (or a list)"),
    ] = None,
    app_cpus: Annotated[
        str | None,
        typer.Option(metavar="CPUS", help="CPUs of the app, e.g. 0-3 (default: planned)"),
    ] = None,
    loadgen_cpus: Annotated[
        str | None,
        typer.Option(metavar="CPUS", help="CPUs of the load generator (default: planned)"),
    ] = None,
    services_cpus: Annotated[
        str | None,
        typer.Option(metavar="CPUS", help="CPUs of the upstream and database (default: planned)"),
    ] = None,
    allow_shared_cores: Annotated[
        bool,
        typer.Option(help="let roles share CPUs (the report flags the run)"),
    ] = False,
    retry_disturbed: Annotated[
        int,
        typer.Option(
            min=0,
            max=10,
            metavar="N",
            help="measure a disturbed measurement again, up to N times (all kept)",
        ),
    ] = 0,
    check_texts: Annotated[
        list[str] | None,
        typer.Option(
            "--check",
            metavar="CHECK",
            help='exit 1 unless it holds, e.g. "async sleep: rps >= 900", "async sleep / '
            'sync sleep >= 2" or "errors == 0" (repeatable; saved with the run)',
        ),
    ] = None,
) -> int:
    """Run a scenario or suite: start the app, drive it with Locust, store and report results."""
    from harness.analysis import gate, run_warnings
    from harness.analysis.analyze import interpret, tabulate
    from harness.analysis.disturbance import guard
    from harness.measure import runner
    from harness.measure.request import RunRequest, prepare
    from harness.report import terminal
    from harness.report.build import build
    from harness.report.progress import RichProgress

    _checks(check_texts or [])  # a malformed check is bad input before anything else
    request = RunRequest(
        app=app_spec,
        factory=factory,
        app_dir=app_dir,
        env=tuple(env or ()),
        target=target,
        scenario=scenario,
        users=users,
        rate=rate,
        arrivals=arrivals,
        max_in_flight=max_in_flight,
        duration=duration,
        warmup=warmup,
        repeat=repeat,
        out=out_dir,
        port=port,
        threadpool_tokens=threadpool_tokens,
        params=tuple(param or ()),
        settings=tuple(setting or ()),
        client=client,
        database=database,
        database_url=database_url,
        upstream_latency=upstream_latency,
        timeout=timeout,
        calibrate=calibrate,
        loadgen_processes=loadgen_processes,
        loadgen_remote=loadgen_remote,
        master_bind=master_bind,
        command=("bench", *sys.argv[1:]),
        allow_concurrent=allow_concurrent,
        checks=tuple(check_texts or ()),
        workers=workers,
        loop=loop,
        http=http,
        server=server,
        app_cpus=app_cpus,
        loadgen_cpus=loadgen_cpus,
        services_cpus=services_cpus,
        allow_shared_cores=allow_shared_cores,
    )
    prepared = prepare(request)
    if retry_disturbed:  # the analysis's rules judge each measurement as it ends
        options = replace(prepared.options, retry_disturbed=retry_disturbed, guard=guard)
        prepared = replace(prepared, options=options)
    has_checks = _checks(check_texts or [], prepared.scenarios)  # before the app starts
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        with RichProgress(console) as progress:
            run_dir, _ = runner.run(prepared.label, prepared.scenarios, prepared.options, progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
    out.print(f"results: {run_dir / 'results.json'}", soft_wrap=True)
    built = build(run_dir) if report else None
    if built:
        for view in terminal.results_tables(built.analysis):
            out.print(view)
        if note := terminal.shapes_note(built.analysis):
            out.print(note, soft_wrap=True, markup=False)
        if note := terminal.disturbed_note(built.analysis):
            out.print(note, soft_wrap=True, markup=False)
        for line in run_warnings.pinning(built.analysis.run):  # not pinned, or shared cores
            out.print(f"⚠ {line}", soft_wrap=True, markup=False)
    # with --no-report the checks are still judged: the numbers and words, no chart
    analysis = built.analysis if built else interpret(tabulate(run_dir)) if has_checks else None
    verdicts = analysis.checks if analysis else []
    if verdicts:
        out.print(terminal.checks_table(verdicts))
        out.print(terminal.checks_line(verdicts), soft_wrap=True)
    if built:
        out.print(f"report: {built.index}", soft_wrap=True)
    return gate.exit_code(verdicts)


def _checks(texts: list[str], scenarios: list[Scenario] | None = None) -> bool:
    """Parse --check (bad input: exit 2, before anything starts); given the scenarios, check its
    labels and users levels and every scenario file's own checks. Are there any checks?"""
    from harness.analysis import checks
    from harness.measure.request import OptionError

    try:
        given = checks.parse_all(texts)
        if scenarios is not None:
            checks.validate(given, scenarios)
    except checks.CheckError as exc:
        raise OptionError("--check", str(exc)) from None
    for s in scenarios or []:
        try:
            checks.validate(checks.parse_all(s.checks, s.name), scenarios or [])
        except checks.CheckError as exc:
            raise ScenarioError(f"{Path(s.source).name or s.name}: {exc}") from None
    return bool(given) or any(s.checks for s in scenarios or [])


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    raise Terminated(f"terminated ({signal.Signals(signum).name})")


@app.command("report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(help="a run folder, e.g. reports/latest")],
    form: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="html (the whole report, into the run folder) or an export to print: "
            "md, json (summary.json), csv, github-benchmark (RPS), "
            "github-benchmark-latency (p99)",
        ),
    ] = "html",
    out_file: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="write the export to FILE instead (not html)"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print summary.json: the same as --format json")
    ] = False,
) -> int:
    """Rebuild a run's PNGs, index.html, summary.md and summary.json from its files alone; or,
    with --format or --json, print one export of it (no chart is drawn). The run's saved checks
    are judged again: exit 1 if one fails (0 pass, 2 bad input)."""
    from harness.analysis import gate
    from harness.files import write_atomic
    from harness.report import terminal
    from harness.report.build import build
    from harness.report.exports import choose_format, export

    form = choose_format(form, as_json, out_file)
    if form == "html":
        built = build(run_dir)
        verdicts = built.analysis.checks
        if verdicts:
            out.print(terminal.checks_table(verdicts))
            out.print(terminal.checks_line(verdicts), soft_wrap=True)
        out.print(f"report: {built.index}", soft_wrap=True)
        return gate.exit_code(verdicts)
    exported = export(run_dir, form)
    if out_file is None:
        sys.stdout.write(exported.text)  # plain: no wrapping, no colour, so scripts can parse it
        sys.stdout.flush()
    else:
        out.print(f"{form}: {write_atomic(out_file, exported.text)}", soft_wrap=True, markup=False)
    if exported.checks:  # on stderr: stdout stays the export alone
        console.print(terminal.checks_line(exported.checks), soft_wrap=True, markup=False)
    return gate.exit_code(exported.checks)


@app.command(
    "compare",
    epilog="Exit codes: 0 compared (and no regression with --fail-on-regression); 1 a "
    "regression; 2 bad input or runs from different machines without --force.",
)
def compare_command(
    run_a: Annotated[Path, typer.Argument(help="the reference run folder (A)")],
    run_b: Annotated[Path, typer.Argument(help="the run to judge against it (B)")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="folder for compare.md and compare.html")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="compare even when the runs come from different machines")
    ] = False,
    fail_on_regression: Annotated[
        str | None,
        typer.Option(
            metavar="SHARE",
            help="exit 1 when a measurement of B is slower than A by more than SHARE (5% or "
            "0.05) and the difference is significant; marks each row",
        ),
    ] = None,
) -> int:
    """Compare two runs measurement by measurement: B / A, its uncertainty and a verdict."""
    from harness.analysis.run_diff import diff_runs, parse_threshold
    from harness.errors import CHECK_FAILED
    from harness.report import diff_pages, terminal

    try:  # before any run is read: bad input is exit 2
        threshold = None if fail_on_regression is None else parse_threshold(fail_on_regression)
    except ValueError as exc:
        raise BenchError(
            f"Invalid value for --fail-on-regression: {exc} (see: bench compare --help)"
        ) from None
    a, b = run_a.resolve(), run_b.resolve()
    diff = diff_runs(run_a, run_b, force, threshold)
    md_path, html_path = diff_pages.write(
        diff, out_dir or b.parent / f"compare-{a.name}-vs-{b.name}"
    )
    out.print(terminal.diff_table(diff))
    for note in diff.notes:
        out.print(f"note: {note}", soft_wrap=True)
    for line in diff.served:
        out.print(f"served differently: {line}", soft_wrap=True, markup=False)
    out.print(f"markdown: {md_path}", soft_wrap=True)
    out.print(f"html: {html_path}", soft_wrap=True)
    if threshold is not None:
        out.print(terminal.regressions_line(diff), soft_wrap=True, markup=False)
    return CHECK_FAILED if diff.regressions else 0


@app.command("scan")
def scan_command(
    spec: Annotated[
        str, typer.Argument(metavar="MODULE:ATTR", help="your app, e.g. myapp.main:app")
    ],
    factory: Annotated[
        bool, typer.Option(help="MODULE:ATTR is a function returning the app")
    ] = False,
    app_dir: Annotated[
        str | None, typer.Option(metavar="DIR", help="folder to import the app from")
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY=VALUE", help="environment variable set before the import"),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="starter scenario (default scan-MODULE.toml)"),
    ] = None,
    force: Annotated[bool, typer.Option(help="overwrite the starter scenario file")] = False,
) -> None:
    """List every route of your app (def or async def, its dependencies), the blocking calls
    found in async code (ruff's ASYNC rules and the harness's own), and write a starter
    scenario for the GET routes."""
    from harness.measure.request import OptionError, parse_params
    from harness.scan.scanner import routes_table, scan, suspects_table
    from harness.scan.starter import write
    from target_app.foreign import AppLoadError, AppSpec

    variables = {k: str(v) for k, v in parse_params(env or (), "--env").items()}
    if app_dir is not None and not Path(app_dir).is_dir():
        raise OptionError("--app-dir", f"{app_dir}: no such folder", "bench scan")
    try:
        app_spec = AppSpec(spec, factory, str(Path(app_dir).resolve()) if app_dir else "")
    except AppLoadError as exc:
        raise OptionError("MODULE:ATTR", str(exc), "bench scan") from None
    target = out_file or Path(f"scan-{app_spec.module.replace('.', '-')}.toml")
    if target.exists() and not force:
        raise OptionError("--out", f"{target} exists: pass --force to overwrite it", "bench scan")
    found = scan(app_spec, variables, target)
    out.print(routes_table(found))
    if found.suspects:
        out.print(f"\nsuspects: {len(found.suspects)} blocking call(s) in async code")
        out.print(suspects_table(found))
    else:
        out.print("\nsuspects: none found in async code (ruff ASYNC rules and the harness's own)")
    written = write(target, found.scenario, force)
    out.print(f"starter scenario: {written}", soft_wrap=True, markup=False, emoji=False)


@app.command("serve")
def serve_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="port on 127.0.0.1")] = 8000,
    threadpool_tokens: Annotated[
        int | None, typer.Option(min=1, max=10000, help="anyio thread-pool size")
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="log every request (costs throughput: off in runs)")
    ] = False,
) -> None:
    """Serve the target app alone on 127.0.0.1 (Swagger UI at /docs) until Ctrl-C, the way
    a run serves it."""
    import uvicorn

    from harness.measure.app import APP_FACTORY, uvicorn_options
    from harness.measure.processes import ensure_port_free
    from target_app.settings import env_name

    ensure_port_free(port)
    if threadpool_tokens is not None:
        os.environ[env_name("threadpool_tokens")] = str(threadpool_tokens)
    out.print(
        f"serving http://127.0.0.1:{port}  (docs: http://127.0.0.1:{port}/docs, Ctrl-C stops)"
    )
    uvicorn.run(APP_FACTORY, **uvicorn_options(port, access_log=access_log, log_level="info"))


@app.command("worker")
def worker_command(
    master: Annotated[
        str, typer.Option(metavar="HOST:PORT", help="the master: bench run --master-bind")
    ],
) -> None:
    """Serve a remote `bench run --loadgen-remote N` as one Locust worker, measurement after
    measurement, until Ctrl-C."""
    from harness.measure.distributed import serve

    try:
        serve(master, lambda line: out.print(line, soft_wrap=True, markup=False))
    except KeyboardInterrupt:
        out.print("worker stopped (Ctrl-C)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
