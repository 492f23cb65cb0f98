"""`bench run`: one option per parameter, checked once (``harness.measure.request``), then
the run, its tables and its report."""

from __future__ import annotations

import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from harness.cli.app import console, out
from harness.errors import Terminated
from scenarios.model import Scenario, ScenarioError

EPILOG = (
    "Exit codes: 0 done and every check passed; 1 a check failed (the run and its "
    "report are kept); 2 bad input; 3 a process the run depends on died; 130 interrupted."
)


def run_command(
    scenario: Annotated[
        str,
        typer.Argument(
            metavar="SCENARIO",
            help="scenario or suite name (see `bench list`), or a .toml file",
        ),
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
