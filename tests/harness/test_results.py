"""results.json: round-trip, atomic save, never-reused run folders, loud refusal of bad files."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness import results
from harness.errors import BenchError
from harness.results import Measurement, Run


def measurement(index: int, **changes: Any) -> Measurement:
    values: dict[str, Any] = {
        "id": f"sleep--sync-sleep--u10--r{index}",
        "scenario": "sleep",
        "endpoint": "sync sleep",
        "variant": "sync",
        "path": "/sync/sleep?ms=100",
        "users": 10,
        "repeat": index,
        "warmup_s": 1.0,
        "duration_s": 2.0,
        "samples": f"samples/sleep--sync-sleep--u10--r{index}.csv",
        "metrics": f"metrics/sleep--sync-sleep--u10--r{index}.json",
        "window_start": 1_700_000_000.25 + 10 * index,
        "window_end": 1_700_000_002.25 + 10 * index,
        "loadgen_cpu_share": 0.125,
        "loadgen_cpu_warning": False,
    }
    values.update(changes)
    return Measurement(**values)


MODELLED = {
    "label": "sync sleep",
    "path": "/sync/sleep?ms=100",
    "variant": "sync",
    "concurrency": "threadpool",
    "service_ms": "100",
    "calls": "1",
    "limits": [],
}


def make_run(run_id: str = "20231114-221320-sleep") -> Run:
    run = Run(
        run_id=run_id,
        status="running",
        created="2023-11-14T22:13:20+00:00",
        command=["bench", "run", "sleep", "--users", "10"],
        metadata={"cpu_count": 2, "pinning": {"app": [0], "loadgen": [1]}, "python": "3.11.7"},
        scenarios=[{"name": "sleep", "description": "a wait", "endpoints": [MODELLED]}],
    )
    run = run.with_measurement(measurement(0))
    run = run.with_measurement(measurement(1, status="failed", error="the app died"))
    return replace(run, status="complete", finished="2023-11-14T22:14:02+00:00")


def write_results(run_dir: Path, data: Any) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else json.dumps(data)
    (run_dir / results.RESULTS_FILE).write_text(text, encoding="utf-8")


def refusal(run_dir: Path) -> str:
    with pytest.raises(BenchError) as info:
        results.load(run_dir)
    message = str(info.value)
    assert "\n" not in message, "a BenchError is one line"
    return message


# --- save / load ------------------------------------------------------------------------------


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    run = make_run()
    path = results.save(tmp_path, run)
    assert path == tmp_path / "results.json"
    loaded = results.load(tmp_path)
    assert loaded == run
    assert loaded.measurements[0].window_start == 1_700_000_000.25
    assert loaded.measurements[1].status == "failed"
    assert loaded.measurements[1].error == "the app died"
    assert loaded.model("sleep", "sync sleep")["service_ms"] == "100"
    assert loaded.model("sleep", "no such endpoint") == {}
    assert loaded.status == "complete"
    assert loaded.finished == "2023-11-14T22:14:02+00:00"
    assert loaded.scenario("sleep")["description"] == "a wait"


def test_the_checks_of_a_run_are_saved_and_optional(tmp_path: Path) -> None:
    """``checks`` (bench run --check) round-trips; a document without it (older runs) has none."""
    run = replace(make_run(), checks=["async sleep: rps >= 900", "errors == 0"])
    results.save(tmp_path, run)
    assert results.load(tmp_path).checks == ["async sleep: rps >= 900", "errors == 0"]
    data = make_run().to_dict()
    del data["checks"]
    write_results(tmp_path, data)
    assert results.load(tmp_path).checks == []


def test_results_document_is_versioned_and_sorted(tmp_path: Path) -> None:
    results.save(tmp_path, make_run())
    text = (tmp_path / "results.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["schema"] == results.SCHEMA == 2
    assert all("model" not in m for m in data["measurements"]), "the model is stored once"
    assert list(data) == sorted(data)
    assert text.endswith("}\n")


def test_save_replaces_an_existing_file_whole(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("x" * 100_000 + "\n", encoding="utf-8")
    results.save(tmp_path, make_run())
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert data["run_id"] == "20231114-221320-sleep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    for status in ("running", "complete"):
        results.save(tmp_path, make_run().finish(status))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    assert results.load(tmp_path).status == "complete"


def test_a_failed_save_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results.save(tmp_path, make_run())
    before = (tmp_path / "results.json").read_bytes()

    def crash(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(results.os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        results.save(tmp_path, make_run().finish("failed", "disk full"))
    assert (tmp_path / "results.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_an_unserialisable_run_never_touches_the_file(tmp_path: Path) -> None:
    results.save(tmp_path, make_run())
    before = (tmp_path / "results.json").read_bytes()
    broken = replace(make_run(), metadata={"cpus": {0, 1}})
    with pytest.raises(TypeError):
        results.save(tmp_path, broken)
    assert (tmp_path / "results.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


# --- run folders --------------------------------------------------------------------------


class FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> FrozenDatetime:
        return cls(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_new_run_dir_never_reuses_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results, "datetime", FrozenDatetime)  # three calls in the same second
    out = tmp_path / "reports"
    made = [results.new_run_dir(out, "sleep") for _ in range(3)]
    assert [p.name for p in made] == [
        "20231114-221320-sleep",
        "20231114-221320-sleep-1",
        "20231114-221320-sleep-2",
    ]
    assert all(p.is_dir() and p.parent == out for p in made)
    assert list(made[0].iterdir()) == []


def test_new_run_dir_with_the_real_clock(tmp_path: Path) -> None:
    made = [results.new_run_dir(tmp_path, "quick") for _ in range(3)]
    assert len(set(made)) == 3
    assert all(p.is_dir() and p.name.endswith(("quick", "-1", "-2")) for p in made)


def test_point_latest_follows_the_newest_run(tmp_path: Path) -> None:
    first, second = tmp_path / "20231114-221320-a", tmp_path / "20231114-221321-b"
    for run_dir in (first, second):
        run_dir.mkdir()
        results.save(run_dir, make_run(run_dir.name))
    results.point_latest(tmp_path, first)
    assert (tmp_path / "latest").resolve() == first.resolve()
    results.point_latest(tmp_path, second)
    latest = tmp_path / "latest"
    assert latest.is_symlink()
    assert os.readlink(latest) == second.name  # relative: the reports folder can move
    assert latest.resolve() == second.resolve()
    assert results.load(latest).run_id == second.name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, second.name, "latest"])


# --- refusals -------------------------------------------------------------------------------


def test_load_refuses_a_missing_folder(tmp_path: Path) -> None:
    message = refusal(tmp_path / "nope")
    assert message == f"{tmp_path / 'nope'}: no such folder"


def test_load_refuses_a_folder_without_results(tmp_path: Path) -> None:
    (tmp_path / "samples").mkdir()
    message = refusal(tmp_path)
    assert str(tmp_path) in message
    assert "not a run folder" in message and "results.json" in message


def test_load_refuses_invalid_json(tmp_path: Path) -> None:
    write_results(tmp_path, '{"schema": 1, "run_id": \n')
    message = refusal(tmp_path)
    assert message.startswith(f"{tmp_path / 'results.json'}: unreadable results")


def test_load_refuses_binary_garbage(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_bytes(b"\xff\xfe\x00garbage\n\x00")
    assert "unreadable results" in refusal(tmp_path)


@pytest.mark.parametrize("document", [{"run_id": "x", "status": "complete"}, [1, 2], 3])
def test_load_refuses_a_document_without_schema(tmp_path: Path, document: Any) -> None:
    write_results(tmp_path, document)
    assert "no 'schema' field" in refusal(tmp_path)


def test_load_refuses_an_unknown_schema(tmp_path: Path) -> None:
    data = make_run().to_dict()
    data["schema"] = 999
    write_results(tmp_path, data)
    message = refusal(tmp_path)
    assert "999" in message
    assert "schema 1" in message  # which one this version reads
    assert "not supported" in message


def test_load_refuses_a_measurement_missing_a_field(tmp_path: Path) -> None:
    data = make_run().to_dict()
    del data["measurements"][0]["window_end"]
    write_results(tmp_path, data)
    message = refusal(tmp_path)
    assert "invalid results" in message
    assert "sleep--sync-sleep--u10--r0" in message and "window_end" in message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.pop("run_id"), "missing run_id"),
        (lambda d: d.update(status="exploded"), "status"),
        (lambda d: d["measurements"][0].update(users=0), "users"),
        (lambda d: d["measurements"][0].update(window_end=1.0), "empty measurement window"),
        (lambda d: d["measurements"][0].update(status="weird"), "unknown status"),
    ],
)
def test_load_refuses_invalid_values(tmp_path: Path, change: Any, words: str) -> None:
    data = make_run().to_dict()
    change(data)
    write_results(tmp_path, data)
    message = refusal(tmp_path)
    assert "invalid results" in message and words in message


def test_load_ignores_unknown_extra_keys_only_when_known_ones_are_valid(tmp_path: Path) -> None:
    data = make_run().to_dict()
    data["comment"] = "added by hand"
    data["measurements"][0]["note"] = "extra"
    write_results(tmp_path, data)
    assert results.load(tmp_path) == make_run()


def test_a_schema_1_run_is_read_with_its_models_moved_to_the_scenario(tmp_path: Path) -> None:
    data = make_run().to_dict()
    data["schema"] = 1
    data["scenarios"][0]["endpoints"] = [{"label": "sync sleep", "path": "/sync/sleep"}]
    model = {"concurrency": "threadpool", "service_ms": "250", "calls": "2", "limits": ["x"]}
    for m in data["measurements"]:
        m["model"] = model
    write_results(tmp_path, data)
    loaded = results.load(tmp_path)
    assert loaded.schema == results.SCHEMA
    assert loaded.model("sleep", "sync sleep") == model
    assert len(loaded.measurements) == 2


def test_a_running_run_whose_harness_is_gone_reads_as_killed(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(gone.stdout)
    run = replace(make_run(), status="running")
    for metadata, expected in (
        ({"hostname": socket.gethostname(), "harness_pid": pid}, "incomplete"),
        ({"hostname": "another-machine", "harness_pid": pid}, "running"),
        ({"hostname": socket.gethostname(), "harness_pid": os.getpid()}, "running"),
    ):
        results.save(tmp_path, replace(run, metadata={**run.metadata, **metadata}))
        loaded = results.load(tmp_path)
        assert loaded.status == expected
        if expected == "incomplete":
            assert loaded.note == f"the harness was killed (PID {pid} is gone)"
