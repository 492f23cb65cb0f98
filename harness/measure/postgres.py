"""An embedded PostgreSQL for a run: ``initdb`` + ``postgres`` from the ``pgserver`` wheel.

``EmbeddedPostgres`` runs the PostgreSQL binaries shipped by the ``pgserver`` wheel (or any
``bin_dir``) directly: ``initdb`` into a fresh temporary folder, then ``postgres`` on 127.0.0.1
at a free port, with the benchmark's settings on its command line. It is this process's child,
so ``.pid`` is the postmaster and stopping it never depends on ``pg_ctl`` or on a pid file.

PostgreSQL refuses to run as root. As root (containers, CI) the server runs as ``nobody``, which
every Debian/Ubuntu system has (a dedicated system user ``bench-postgres`` is created with
``useradd`` where it is missing): the temporary folder is chowned to that user and the
processes drop to it with ``subprocess``'s ``user=``/``group=``/``extra_groups=``. Nothing
outside the temporary folder changes owner or mode; if the user cannot read the binaries where
they are installed (a venv under ``/root``), they are copied into the temporary folder.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg

from harness import affinity
from harness.errors import BenchError
from harness.files import tail
from harness.measure import orphans
from harness.measure.processes import free_port, how_it_ended
from target_app.db import async_url, sync_url

FALLBACK_USER = "bench-postgres"
SQLITE_HINT = "or use --database sqlite"
# Durability off: a benchmark fixture, thrown away after the run. Recorded with the run.
BENCH_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def find_postgres_bin(bin_dir: str | Path | None = None) -> Path:
    """The folder holding ``initdb`` and ``postgres``: ``bin_dir``, pgserver's, or the PATH's."""
    candidates: list[Path] = []
    if bin_dir is not None:
        candidates.append(Path(bin_dir))
    else:
        # find_spec does not import pgserver (its import has side effects: platformdirs, locks)
        spec = importlib.util.find_spec("pgserver")
        if spec is not None and spec.submodule_search_locations:
            for location in spec.submodule_search_locations:
                candidates.append(Path(location) / "pginstall" / "bin")
        on_path = shutil.which("postgres")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all(os.access(folder / exe, os.X_OK) for exe in ("initdb", "postgres")):
            return folder
    looked = ", ".join(str(c) for c in candidates) or "pgserver not installed, none on PATH"
    raise BenchError(
        f"PostgreSQL binaries (initdb, postgres) not found ({looked}): "
        f"pip install pgserver, {SQLITE_HINT}"
    )


@dataclass(frozen=True)
class _RunAs:
    name: str
    uid: int
    gid: int

    def popen_kwargs(self) -> dict[str, Any]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _unprivileged_user() -> _RunAs | None:
    """None when not root; else ``nobody`` (or a dedicated system user created once)."""
    if os.geteuid() != 0:
        return None
    for name in ("nobody", FALLBACK_USER):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return _RunAs(name, entry.pw_uid, entry.pw_gid)
    args = ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", FALLBACK_USER]
    try:
        subprocess.run(args, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise BenchError(
            f"running as root, PostgreSQL needs an unprivileged user and 'useradd "
            f"{FALLBACK_USER}' failed ({error}): run as a normal user, {SQLITE_HINT}"
        ) from error
    entry = pwd.getpwnam(FALLBACK_USER)
    return _RunAs(FALLBACK_USER, entry.pw_uid, entry.pw_gid)


class EmbeddedPostgres:
    """A throw-away PostgreSQL server: ``with EmbeddedPostgres(max_connections=250) as pg: …``.

    Started on enter (``initdb`` + ``postgres`` on 127.0.0.1, trust auth, user ``postgres``),
    stopped on exit whatever happened (fast shutdown, then SIGKILL by PID), folder removed.
    """

    def __init__(
        self,
        max_connections: int = 100,
        port: int | None = None,
        *,
        settings: Mapping[str, str] | None = None,
        bin_dir: str | Path | None = None,
        cpus: set[int] | None = None,
        start_timeout_s: float = 30.0,
    ) -> None:
        if not 1 <= max_connections <= 10_000:
            raise ValueError(f"max_connections must be in 1..10000, got {max_connections}")
        self.max_connections = max_connections
        self.requested_port = port
        self.settings = {**BENCH_SETTINGS, **(settings or {})}
        self.bin_dir = find_postgres_bin(bin_dir)
        self.start_timeout_s = start_timeout_s
        self.cpus = set(cpus) if cpus else None
        self.port = 0
        self.folder: Path | None = None
        self.run_as: _RunAs | None = None
        self.timings: dict[str, float] = {}
        self.reaped: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None

    name = "database"

    # -- public surface ------------------------------------------------------------------------
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def exit_reason(self) -> str:
        code = self._process.returncode if self._process is not None else None
        last = tail(self._log, 3, "(no log)") if self.folder is not None else "(no log)"
        return f"{how_it_ended(code)}; last output: {last}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("embedded PostgreSQL is not running")
        return self._process.pid

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:<port>/postgres`` (trust auth, no password)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def psycopg_url(self) -> str:
        """``postgresql+psycopg://…``: the app's sync driver (``sync_url`` for any URL)."""
        return sync_url(self.url)

    @property
    def asyncpg_url(self) -> str:
        """``postgresql+asyncpg://…``: the app's async driver (``async_url`` for any URL)."""
        return async_url(self.url)

    def metadata(self) -> dict[str, Any]:
        """How this server was started (user, settings, start-up time); what it reports about
        itself once up is ``database.database_info(url)``, the same as for a user's server."""
        return {
            "embedded": True,
            "bin_dir": str(self.bin_dir),
            "run_as_user": self.run_as.name if self.run_as else pwd.getpwuid(os.getuid()).pw_name,
            "start_settings": {"max_connections": str(self.max_connections), **self.settings},
            "startup_s": dict(self.timings),
            "cpus": sorted(self.cpus) if self.cpus else None,
            "folder": str(self.folder),
            "dies_with_harness": bool(shutil.which("setpriv")),
            "reaped": list(self.reaped),
        }

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("embedded PostgreSQL already started")
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:  # including KeyboardInterrupt: never leave a server behind
            self.stop()
            raise

    def _start(self) -> None:
        started = time.perf_counter()
        self.run_as = _unprivileged_user()
        self.reaped = orphans.reap()
        self.folder = Path(tempfile.mkdtemp(prefix=orphans.PREFIX))
        orphans.write_owner(self.folder)
        bin_dir = self.bin_dir
        if self.run_as is not None:
            os.chown(self.folder, self.run_as.uid, self.run_as.gid)
            bin_dir = self._usable_bin_dir()
        data = self.folder / "data"
        self._run_checked(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
            + ["--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            what="initdb",
        )
        self.timings["initdb_s"] = round(time.perf_counter() - started, 3)
        for attempt in range(3):  # a free port can be taken between probe and bind
            self.port = self.requested_port or free_port()
            self._process = self._spawn(bin_dir, data)
            if self._wait_ready():
                self._pin()
                break
            if self.requested_port or "already in use" not in tail(self._log, 20) or attempt == 2:
                raise BenchError(
                    f"embedded PostgreSQL did not start on 127.0.0.1:{self.port}: "
                    f"{tail(self._log, 3, '(no log)')} ({SQLITE_HINT})"
                )
            self._process = None
        self.timings["total_s"] = round(time.perf_counter() - started, 3)

    @property
    def _log(self) -> Path:
        assert self.folder is not None
        return self.folder / "postgres.log"

    def _child_kwargs(self) -> dict[str, Any]:
        """In the temporary folder, without PG* variables, as the unprivileged user if root."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        privileges = self.run_as.popen_kwargs() if self.run_as else {}
        return {
            "cwd": self.folder,
            "env": {**env, "LC_ALL": "C"},
            "stdin": subprocess.DEVNULL,
            **privileges,
        }

    def _run_checked(self, args: list[str], what: str) -> None:
        timeout = self.start_timeout_s
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, **self._child_kwargs()
        )
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
            raise BenchError(f"{what} failed (exit {result.returncode}): {last[0]} ({SQLITE_HINT})")

    def _usable_bin_dir(self) -> Path:
        """The binaries as the unprivileged user can run them (copied if it cannot read them)."""
        assert self.run_as is not None and self.folder is not None
        probe = [str(self.bin_dir / "postgres"), "--version"]
        try:
            subprocess.run(
                probe, capture_output=True, check=True, timeout=10, **self._child_kwargs()
            )
            return self.bin_dir
        except (OSError, subprocess.CalledProcessError):
            # keep the wheel's layout: the binaries' RPATH is $ORIGIN/../../../pgserver.libs
            install, package = self.bin_dir.parent, self.bin_dir.parent.parent
            copy = self.folder / "pginstall-copy"
            shutil.copytree(install, copy / package.name / install.name, symlinks=True)
            libs = package.parent / f"{package.name}.libs"
            if libs.is_dir():
                shutil.copytree(libs, copy / libs.name, symlinks=True)
            for root, dirs, files in os.walk(copy):
                for name in [*dirs, *files, "."]:
                    os.lchown(Path(root) / name, self.run_as.uid, self.run_as.gid)
            return copy / package.name / install.name / self.bin_dir.name

    def _spawn(self, bin_dir: Path, data: Path) -> subprocess.Popen[bytes]:
        assert self.folder is not None
        socket_dir = str(self.folder) if len(str(self.folder)) < 90 else ""  # sun_path ≤ 107
        args = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.port)]
        options = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": socket_dir,
            "max_connections": str(self.max_connections),
            "logging_collector": "off",
            **self.settings,
        }
        for key, value in options.items():
            args += ["-c", f"{key}={value}"]
        setpriv = shutil.which("setpriv")
        if setpriv:  # the kernel stops the server (fast shutdown) if the harness dies
            args = [setpriv, "--pdeathsig", "INT", "--", *args]
        with open(self._log, "ab") as log:
            # own session: Ctrl-C reaches us only, and we stop the server after the app
            return subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._child_kwargs(),
            )

    def _wait_ready(self) -> bool:
        assert self._process is not None
        spawned = time.perf_counter()
        deadline = spawned + self.start_timeout_s
        while time.perf_counter() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with psycopg.connect(self._conninfo(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                self.timings["ready_s"] = round(time.perf_counter() - spawned, 3)
                return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        last = tail(self._log, 3, "(no log)")
        raise BenchError(f"embedded PostgreSQL not ready after {self.start_timeout_s:g} s: {last}")

    def _pin(self) -> None:
        """Pin the postmaster and its children; backends forked later inherit the affinity."""
        if self.cpus and self._process is not None and affinity.can_pin():  # not on macOS
            main = psutil.Process(self._process.pid)
            for process in [main, *main.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    process.cpu_affinity(sorted(self.cpus))

    def _conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def stop(self, timeout_s: float = 10.0) -> None:
        """Fast shutdown (SIGINT), SIGKILL by PID after ``timeout_s``; remove the folder."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                children = psutil.Process(process.pid).children(recursive=True)
            except psutil.Error:
                children = []
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for child in children:  # backends outliving a killed postmaster
                with contextlib.suppress(psutil.Error):
                    child.kill()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
