"""End to end: Locust's distributed mode over 127.0.0.1 only. A master with 2 local workers,
and a master with 2 ``bench worker`` processes each in its own working directory (nothing
shared but the network): every worker's samples reach the one samples file, the client's count
matches the app's own ``requests_total`` snapshot by snapshot, the report builds, and no process
is left behind."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil

from harness import results, server_samples
from harness.analysis import disturbance, samples
from harness.measure.processes import free_port
from locustfiles.protocol import SAMPLE_COLUMNS, WORKER_COLUMN
from tests.e2e.helpers import BENCH, E2E, command, descendants, gone

pytestmark = E2E

SCENARIO = """
name = "spread"
description = "e2e: async sleep from two Locust workers"
users = [6]
duration = "2s"
warmup = "1s"
[[endpoints]]
label = "async sleep"
variant = "async"
path = "/async/sleep?ms=50"
model = { concurrency = "users", service_ms = "50" }
"""
EDGE_S = 0.010  # a completion this close to a snapshot may fall on either side of it


def _run(
    args: list[str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], list[psutil.Process], list[str]]:
    """``bench run`` to its end, with every descendant it had along the way (and their
    command lines)."""
    bench = subprocess.Popen(
        [*BENCH, "run", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd
    )
    seen: dict[int, psutil.Process] = {}
    commands: dict[int, str] = {}
    try:
        while bench.poll() is None:
            for proc in descendants(bench.pid):
                seen[proc.pid] = proc
                # the last command line seen: a child caught between its fork and its exec
                # still shows its parent's (a CI run saw a worker so, once)
                if line := " ".join(command(proc)):
                    commands[proc.pid] = line
            time.sleep(0.2)
        stdout, stderr = bench.communicate(timeout=120)
    finally:
        if bench.poll() is None:
            bench.kill()
    done = subprocess.CompletedProcess(bench.args, bench.returncode, stdout, stderr)
    return done, list(seen.values()), list(commands.values())


def _one_measurement(out: Path) -> tuple[Path, results.Measurement]:
    run_dir = (out / "latest").resolve()
    run = results.load(run_dir)
    assert run.status == "complete"
    (measurement,) = run.measurements
    assert measurement.status == "ok", measurement.error
    return run_dir, measurement


def _check_samples_and_counts(run_dir: Path, m: results.Measurement) -> dict:
    with (run_dir / m.samples).open(newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == (*SAMPLE_COLUMNS, WORKER_COLUMN)
    frame = samples.load_samples(run_dir, m)
    assert set(frame[WORKER_COLUMN]) == {0, 1}, "both workers' samples are kept"
    assert set(frame["user"]) == set(range(m.users)), "users unique over the workers"
    assert ((frame["user"] % 2) == frame[WORKER_COLUMN]).all(), "user = local index × 2 + worker"
    ends = np.sort(frame["end"].to_numpy())
    meta = json.loads((run_dir / m.samples.replace(".csv", ".meta.json")).read_text())
    inside = int(((ends >= m.window_start) & (ends <= m.window_end)).sum())
    assert meta["window_count"] == inside
    # the client's count against the app's own, snapshot by snapshot up to the window's end
    base = server_samples.load_metrics_base(run_dir, m)
    series = server_samples.load_metrics(run_dir, m)
    assert base is not None and series
    checked = exact = 0
    for snap in series:
        if snap.t > m.window_end:
            break
        server = snap.requests_total - base.requests_total
        low, high = np.searchsorted(ends, [snap.t - EDGE_S, snap.t + EDGE_S], side="right")
        assert low <= server <= high, f"lost or double-counted at {snap.t}: {server} vs client"
        checked += 1
        exact += server == np.searchsorted(ends, snap.t, side="right")
    assert checked >= 4 and exact >= checked - 1, (exact, checked)
    client = samples.digest(run_dir, m).completions
    reason = disturbance.count_mismatch(client, [base, *series], m.window_start, m.window_end)
    assert reason is None, reason
    # in flight at the end: from every worker, users global
    in_flight = meta["in_flight_at_end"]
    assert {user for _, _, user in in_flight} <= set(range(m.users))
    assert {user % 2 for _, _, user in in_flight} == {0, 1}, "worker = user % 2 here"
    assert all(start <= m.window_end for start, _, _ in in_flight)
    assert len(meta["loadgen_cpu_shares"]) == 2
    assert meta["loadgen_cpu_share"] == max(meta["loadgen_cpu_shares"])
    assert m.loadgen_cpu_share == meta["loadgen_cpu_share"]
    return meta


def test_two_local_workers_keep_every_sample_and_match_the_apps_count(tmp_path: Path) -> None:
    scenario = tmp_path / "spread.toml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "reports"
    args = [str(scenario), "--loadgen-processes", "2", "--no-calibrate", "--out", str(out)]
    done, seen, commands = _run(args, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "report: " in done.stdout
    run_dir, m = _one_measurement(out)
    assert (run_dir / "index.html").is_file()
    _check_samples_and_counts(run_dir, m)
    logs = sorted(p.name for p in (run_dir / "logs").glob("*.locust.log"))
    assert len(logs) == 3, logs  # the master and its 2 workers
    assert sum("--worker" in c.split() for c in commands) == 2, commands
    assert sum("--master" in c.split() for c in commands) == 1, commands
    assert gone(seen) == [], "a process outlived the run"


def test_remote_workers_in_their_own_folders_need_no_shared_file(tmp_path: Path) -> None:
    scenario = tmp_path / "spread.toml"
    scenario.write_text(SCENARIO)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    env["TMPDIR"] = str(tmp_path / "worker-tmp")  # each worker's log: not in the run folder
    (tmp_path / "worker-tmp").mkdir()
    folders = [tmp_path / f"worker{i}" for i in range(2)]
    workers = []
    for folder in folders:
        folder.mkdir()
        workers.append(
            subprocess.Popen(
                [*BENCH, "worker", "--master", f"127.0.0.1:{port}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=folder,
                env=env,
            )
        )
    out = tmp_path / "reports"
    args = [str(scenario), "--loadgen-processes", "0", "--loadgen-remote", "2"]
    args += ["--master-bind", f"127.0.0.1:{port}", "--no-calibrate", "--no-report"]
    try:
        done, seen, commands = _run([*args, "--out", str(out)], tmp_path / "worker-tmp")
        assert done.returncode == 0, done.stderr[-2000:]
        run_dir, m = _one_measurement(out)
        _check_samples_and_counts(run_dir, m)
        assert not any("--worker" in c.split() for c in commands), "no local worker"
        assert gone(seen) == []
        for folder in folders:
            assert not list(folder.iterdir()), "a worker wrote in its folder"
        time.sleep(1.5)  # both workers reconnect, ready for a next measurement
        locusts = [p for w in workers for p in descendants(w.pid)]
        assert len(locusts) == 2
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
        outputs = [worker.communicate(timeout=30) for worker in workers]
    for (stdout, stderr), worker in zip(outputs, workers, strict=True):
        assert "measurement 1 served" in stdout, (stdout, stderr)
        assert "worker stopped (Ctrl-C)" in stdout and "Traceback" not in stderr
        assert worker.returncode == 0
    time.sleep(0.5)
    assert gone(locusts) == [], "a worker's Locust survived Ctrl-C"


def test_a_worker_that_dies_stops_the_run_with_exit_3_and_nothing_left(tmp_path: Path) -> None:
    scenario = tmp_path / "spread.toml"
    scenario.write_text(SCENARIO)
    args = [str(scenario), "--loadgen-processes", "2", "--no-calibrate", "--duration", "30s"]
    bench = subprocess.Popen(
        [*BENCH, "run", *args, "--out", str(tmp_path / "reports")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        deadline, workers = time.monotonic() + 60, []
        while time.monotonic() < deadline and len(workers) < 2:
            workers = [p for p in descendants(bench.pid) if "--worker" in command(p)]
            time.sleep(0.2)
        assert len(workers) == 2, "the workers never started"
        time.sleep(3.0)  # spawned, warming up or measuring
        everything = descendants(bench.pid)
        workers[1].kill()
        _, stderr = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            bench.kill()
    assert bench.returncode == 3, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: the load-generator worker ") and "killed by SIGKILL" in last
    assert "Traceback" not in stderr
    time.sleep(0.5)
    assert gone(everything) == []
