"""The CLI: help, list, report, and every user error as one ``error: …`` line, never a traceback.

None of these tests starts Locust or the app: every error is caught before anything starts
(the port check happens right before the app would start, and starts nothing).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
from pathlib import Path

import psutil
import pytest
import typer
import uvicorn
from typer.testing import CliRunner, Result

import bench
from scenarios.loader import SCENARIO_DIR

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run-small"
SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def invoke(*args: str) -> Result:
    return CliRunner().invoke(bench.app, list(args))


def error_line(result: Result) -> str:
    """The single ``error:`` line of a failed command (asserting it is the only one)."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "no message on stderr"
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == [lines[-1]], f"expected one error line last, got {lines}"
    assert "error:" not in result.stdout
    return errors[0]


def one_line_error(result: Result) -> str:
    """Like ``error_line`` for errors raised before any output: stderr is that line alone."""
    line = error_line(result)
    assert result.stderr.strip() == line
    assert result.stdout == ""
    return line


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run-small"
    shutil.copytree(FIXTURE, run_dir)  # never write into tests/fixtures
    return run_dir


# --- help and list ----------------------------------------------------------------------------


def test_help() -> None:
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    for command in ("list", "run", "report", "serve"):
        assert command in result.stdout
    assert "sync vs async" in result.stdout


def test_run_help() -> None:
    result = invoke("run", "--help")
    assert result.exit_code == 0, result.output
    for option in ("--users", "--duration", "--warmup", "--repeat", "--out", "--port", "--client"):
        assert option in result.stdout
    assert "Run a scenario or suite" in result.stdout


@pytest.mark.parametrize("command", ["run", "report", "compare", "serve", "list"])
def test_help_is_whole_at_80_columns(command: str) -> None:
    """At an ordinary terminal every option name is readable: nothing cut, nothing too wide."""
    result = CliRunner().invoke(bench.app, [command, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    click_command = typer.main.get_command(bench.app).commands[command]  # type: ignore[attr-defined]
    for param in click_command.params:
        for name in (*param.opts, *param.secondary_opts):
            if name.startswith("--"):
                assert name in result.stdout, f"{name} is not shown whole"
    assert "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_serve_serves_the_app_like_a_run_without_an_access_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`bench serve` hands uvicorn the run's options: one worker, no access log by default."""
    calls: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    port = free_port()
    assert invoke("serve", "--port", str(port)).exit_code == 0
    assert invoke("serve", "--port", str(port), "--access-log").exit_code == 0
    (app, quiet), (_, logged) = calls
    assert app == "target_app.main:app_from_env" and quiet["factory"] is True
    assert quiet["host"] == "127.0.0.1" and quiet["port"] == port and quiet["workers"] == 1
    assert quiet["access_log"] is False and logged["access_log"] is True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_arguments_shows_the_help_without_a_traceback() -> None:
    result = invoke()
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "Usage" in result.output and "run" in result.output


def test_list_shows_every_scenario_and_suite() -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.stdout.splitlines()[1:] if line[:1].strip()]
    assert names == SHIPPED
    assert {"baseline", "sleep", "pitfalls", "quick"} <= set(names)
    quick = next(line for line in result.stdout.splitlines() if line.startswith("quick "))
    assert "suite" in quick
    sleep = next(line for line in result.stdout.splitlines() if line.startswith("sleep "))
    assert "scenario" in sleep and "A pure wait of 100 ms" in sleep


# --- run: bad input, caught before anything starts ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nosuch"], ["unknown scenario 'nosuch'", *SHIPPED]),
        (["sleep", "--users", "0"], ["--users", "1..5000", "'0'"]),
        (["sleep", "--users", "abc"], ["--users", "'abc'"]),
        (["sleep", "--users", ""], ["--users", "at least one"]),
        (["sleep", "--duration", "abc"], ["--duration", "'abc'"]),
        (["sleep", "--duration", "0.5s"], ["--duration", "at least 1s"]),
        (["sleep", "--warmup", "-1s"], ["--warmup", "'-1s'"]),
        (["sleep", "--repeat", "0"], ["--repeat"]),
        (["sleep", "--repeat", "many"], ["--repeat"]),
        (["sleep", "--client", "nope"], ["--client", "'nope'", "raw", "fasthttp"]),
        (["sleep", "--param", "bad"], ["--param", "KEY=VALUE", "'bad'"]),
        (["sleep", "--param", "1x=2"], ["--param", "'1x=2'"]),
        (["sleep", "--port", "70000"], ["--port"]),
        (["sleep", "--bogus"], ["--bogus"]),
        (["sleep", "--setting", "nope=1"], ["--setting", "unknown nope", "db_pool_size"]),
        (["sleep", "--setting", "db_pool_size=0"], ["--setting", "db_pool_size", "greater"]),
        (["database", "--database", "mysql"], ["--database", "'mysql'", "postgres", "sqlite"]),
        (["database", "--database-url", "mysql://x"], ["--database-url", "postgresql://"]),
        (["http", "--upstream-latency", "soon"], ["--upstream-latency", "'soon'"]),
        (["http", "--upstream-latency", "11s"], ["--upstream-latency", "at most 10s"]),
        (["quick", "--timeout", "x"], ["--timeout", "'x'"]),
        ([], ["Missing argument 'SCENARIO'"]),
    ],
)
def test_run_rejects_bad_input(tmp_path: Path, args: list[str], words: list[str]) -> None:
    out = tmp_path / "out"
    result = invoke("run", *args, "--out", str(out))
    line = one_line_error(result)
    assert result.exit_code == 2
    for word in words:
        assert word in line
    assert not out.exists(), "no run folder for bad input"


def test_run_rejects_a_malformed_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\ndescription = "d"\nusers = [1]\n'
        '[[endpoints]]\nlabel = "a"\nvariant = "fast"\npath = "/sync/hello"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = invoke("run", str(path), "--out", str(out))
    line = one_line_error(result)
    assert result.exit_code == 2
    assert "mine.toml" in line and "endpoints.variant" in line and "'fast'" in line
    assert not out.exists()


def test_run_rejects_an_invalid_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "broken\n', encoding="utf-8")
    line = one_line_error(invoke("run", str(path), "--out", str(tmp_path / "out")))
    assert str(path) in line and "not valid TOML" in line


def test_run_rejects_a_missing_scenario_file(tmp_path: Path) -> None:
    line = one_line_error(invoke("run", str(tmp_path / "absent.toml")))
    assert "absent.toml" in line and "no such scenario file" in line


def test_run_rejects_a_placeholder_without_a_value(tmp_path: Path) -> None:
    path = tmp_path / "holes.toml"
    path.write_text(
        'name = "holes"\ndescription = "d"\nusers = [1]\n'
        '[[endpoints]]\nlabel = "a"\nvariant = "sync"\npath = "/sync/sleep?ms={ms}"\n',
        encoding="utf-8",
    )
    line = one_line_error(invoke("run", str(path), "--out", str(tmp_path / "out")))
    assert "holes.toml" in line and "'ms'" in line
    assert not (tmp_path / "out").exists()


# --- run: the port is taken --------------------------------------------------------------------


def test_run_on_a_port_in_use_fails_cleanly(tmp_path: Path) -> None:
    me = psutil.Process()
    children_before = {p.pid for p in me.children(recursive=True)}
    handler_before = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "out"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke(
            "run",
            "sleep",
            "--port",
            str(port),
            "--duration",
            "1s",
            "--users",
            "1",
            "--warmup",
            "0s",
            "--out",
            str(out),
        )
    line = one_line_error(result)
    assert result.exit_code == 2
    assert str(port) in line and "in use" in line
    assert {p.pid for p in me.children(recursive=True)} <= children_before, "a child was left"
    assert signal.getsignal(signal.SIGTERM) == handler_before
    assert not out.exists(), "the port is checked before any folder is made"


# --- report --------------------------------------------------------------------------------


def test_report_rebuilds_the_fixture(fixture_copy: Path) -> None:
    result = invoke("report", str(fixture_copy))
    assert result.exit_code == 0, result.output
    index = fixture_copy / "index.html"
    assert result.stdout.strip() == f"report: {index}"
    assert index.is_file() and (fixture_copy / "rps-sleep.png").is_file()
    assert not (FIXTURE / "index.html").exists()


def test_report_on_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    line = one_line_error(invoke("report", str(tmp_path)))
    assert str(tmp_path) in line and "not a run folder" in line


def test_report_on_a_missing_folder(tmp_path: Path) -> None:
    line = one_line_error(invoke("report", str(tmp_path / "gone")))
    assert "gone" in line and "no such folder" in line


@pytest.mark.parametrize(
    "url",
    ["postgresql://me@127.0.0.1:1/db?password=hunter2", "postgresql://me:hunter2@127.0.0.1:1/db"],
)
def test_an_unreachable_database_url_never_shows_its_password(tmp_path: Path, url: str) -> None:
    result = invoke("run", "database", "--database-url", url, "--out", str(tmp_path / "out"))
    line = one_line_error(result)
    assert "cannot connect" in line and "***" in line
    assert "hunter2" not in result.output and "hunter2" not in (result.stderr or "")


def test_report_on_results_with_incomplete_metadata(fixture_copy: Path) -> None:
    path = fixture_copy / "results.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["metadata"]["cpu_model"]
    path.write_text(json.dumps(data), encoding="utf-8")
    line = one_line_error(invoke("report", str(fixture_copy)))
    assert "incomplete results" in line and "cpu_model" in line
    assert not (fixture_copy / "index.html").exists()


def test_report_on_an_unknown_schema(fixture_copy: Path) -> None:
    path = fixture_copy / "results.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["schema"] = 999
    path.write_text(json.dumps(data), encoding="utf-8")
    line = one_line_error(invoke("report", str(fixture_copy)))
    assert "999" in line and "schema 1" in line
    assert not (fixture_copy / "index.html").exists()


def test_report_on_unreadable_results(fixture_copy: Path) -> None:
    (fixture_copy / "results.json").write_text("{ this is not json", encoding="utf-8")
    line = one_line_error(invoke("report", str(fixture_copy)))
    assert "results.json" in line and "unreadable results" in line
    assert not (fixture_copy / "index.html").exists()


def test_report_on_unreadable_samples(fixture_copy: Path) -> None:
    (fixture_copy / "samples" / "sleep--sync-sleep--u10--r0.csv").write_text(
        "when,what\n1,2\n", encoding="utf-8"
    )
    line = one_line_error(invoke("report", str(fixture_copy)))
    assert "sleep--sync-sleep--u10--r0.csv" in line and "elapsed_ms" in line


def test_unreachable_database_url_fails_before_any_load(tmp_path: Path) -> None:
    out = tmp_path / "out"
    url = "postgresql://bench:s3cret@127.0.0.1:1/bench"
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = invoke("run", "database", "--database-url", url, "--out", str(out))
    line = one_line_error(result)
    assert result.exit_code == 2
    assert "127.0.0.1:1" in line and "cannot connect" in line
    assert "s3cret" not in result.output and "s3cret" not in (result.stderr or "")
    assert not out.exists(), "the check runs before a run folder is made"
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


def test_an_error_is_printed_as_written_not_as_markup() -> None:
    """A name with brackets or colons (a path, a scenario) reaches the user unchanged."""
    line = error_line(invoke("run", "no[bold]such:smile:"))
    assert "unknown scenario 'no[bold]such:smile:'" in line


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["sleep", "--users", "10", "--rate", "100"], ["--rate", "not both"]),
        (["sleep", "--rate", "0"], ["--rate", "each rate must be"]),
        (["sleep", "--rate", "abc"], ["--rate", "'abc' is not a rate"]),
        (["sleep", "--arrivals", "poisson"], ["--arrivals", "open model only", "--rate"]),
        (["sleep", "--max-in-flight", "10"], ["--max-in-flight", "open model only"]),
        (["sleep", "--rate", "100", "--arrivals", "bursty"], ["--arrivals", "'bursty'"]),
        (["sleep", "--rate", "100", "--client", "fasthttp"], ["--client", "raw client only"]),
    ],
)
def test_run_rejects_bad_open_model_combinations(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    out = tmp_path / "out"
    result = invoke("run", *args, "--out", str(out))
    line = one_line_error(result)
    assert result.exit_code == 2
    for word in words:
        assert word in line
    assert not out.exists(), "no run folder for bad input"
