"""Samples of Locust's distributed mode: the ``worker`` column is read, its users count as one
process's would (fairness, in flight), each worker's CPU share reaches the table, and files
without the column read as they always did."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from harness.analysis import samples
from harness.results import Measurement
from locustfiles import protocol as p

W0 = 1_000.0


def measurement(name: str) -> Measurement:
    return Measurement(
        id=name,
        scenario="s",
        endpoint="e",
        variant="async",
        path="/x",
        users=4,
        repeat=0,
        warmup_s=1.0,
        duration_s=2.0,
        samples=f"samples/{name}.csv",
        metrics="",
        window_start=W0,
        window_end=W0 + 2.0,
        loadgen_cpu_share=0.4,
        loadgen_cpu_warning=False,
    )


def write(run_dir: Path, name: str, workers: bool, meta: dict) -> Measurement:
    folder = run_dir / "samples"
    folder.mkdir(exist_ok=True)
    columns = [*p.SAMPLE_COLUMNS, p.WORKER_COLUMN] if workers else list(p.SAMPLE_COLUMNS)
    with (folder / f"{name}.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for i in range(40):  # 4 users (global: local × 2 + worker), 10 completions each
            user = i % 4
            row = [W0 + 0.1 + i * 0.04, 10.0, 200, 5, "", "e", user, "", "", ""]
            writer.writerow([*row, user % 2] if workers else row)
    (folder / f"{name}.meta.json").write_text(json.dumps(meta))
    return measurement(name)


def test_a_distributed_file_reads_with_its_worker_column_and_shares(tmp_path: Path) -> None:
    meta = {
        p.IN_FLIGHT_AT_END: [[W0 + 1.9, "e", 1], [W0 + 1.95, "e", 2]],
        p.LOADGEN_CPU_SHARES: [0.4, 0.3],
    }
    m = write(tmp_path, "dist", workers=True, meta=meta)
    frame = samples.load_samples(tmp_path, m)
    assert frame[p.WORKER_COLUMN].dtype == "int64" and set(frame[p.WORKER_COLUMN]) == {0, 1}
    stats = samples.digest(tmp_path, m).stats
    assert stats.requests == 40 and stats.user_counts == (10, 10, 10, 10)
    assert stats.in_flight == 2
    assert stats.loadgen_cpu_shares == (0.4, 0.3)


def test_a_single_process_file_has_no_worker_and_no_shares(tmp_path: Path) -> None:
    m = write(tmp_path, "one", workers=False, meta={p.IN_FLIGHT_AT_END: []})
    assert p.WORKER_COLUMN not in samples.load_samples(tmp_path, m).columns
    stats = samples.digest(tmp_path, m).stats
    assert stats.requests == 40 and stats.loadgen_cpu_shares == ()


@pytest.mark.parametrize("value", ["x", ""])
def test_a_damaged_worker_cell_reads_as_worker_0(tmp_path: Path, value: str) -> None:
    m = write(tmp_path, "bad", workers=True, meta={})
    path = tmp_path / m.samples
    lines = path.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + f",{value}"
    lines.append("garbage")
    path.write_text("\n".join(lines) + "\n")
    frame = samples.load_samples(tmp_path, m)
    assert frame[p.WORKER_COLUMN].iloc[0] == 0 and len(frame) == 40
