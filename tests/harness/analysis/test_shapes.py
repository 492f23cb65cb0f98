"""A matrix's shapes side by side: the same endpoint and users, each shape against the first."""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd

from harness import results
from harness.analysis import shapes
from harness.analysis.analyze import analyze
from harness.report import summary_json
from harness.report.markdown import markdown
from tests.harness.runs import FIXTURE

VALIDATOR = jsonschema.Draft202012Validator(summary_json.schema())


def _server(workers: int) -> dict[str, Any]:
    return {
        "server": "uvicorn",
        "workers": workers,
        "loop": "auto",
        "http": "auto",
        "loop_used": "uvloop",
        "http_used": "httptools",
    }


def matrix_run(tmp_path: Path) -> Path:
    """run-small's ``sleep`` as a two-shape matrix: ``sleep-w1`` (the fixture's samples) and
    ``sleep-w2`` (every sample twice: twice the completions in the same windows)."""
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    doc = json.loads((run_dir / "results.json").read_text())
    (sleep,) = [s for s in doc["scenarios"] if s["name"] == "sleep"]
    doc["scenarios"].remove(sleep)
    for workers in (1, 2):
        record = copy.deepcopy(sleep)
        record.update(name=f"sleep-w{workers}", base="sleep", server=_server(workers))
        doc["scenarios"].append(record)
    measurements = []
    for m in doc["measurements"]:
        if m["scenario"] != "sleep":
            measurements.append(m)
            continue
        for workers in (1, 2):
            twin = copy.deepcopy(m)
            twin["scenario"] = f"sleep-w{workers}"
            twin["id"] = m["id"].replace("sleep--", f"sleep-w{workers}--", 1)
            if workers == 2:
                samples = pd.read_csv(run_dir / m["samples"])
                again = samples.assign(start=samples["start"] + 1e-4)
                path = f"samples/{twin['id']}.csv"
                pd.concat([samples, again]).sort_values("start").to_csv(run_dir / path, index=False)
                twin["samples"] = path
            measurements.append(twin)
    doc["measurements"] = measurements
    (run_dir / "results.json").write_text(json.dumps(doc))
    return run_dir


def test_each_shape_is_set_against_the_first_with_its_ci_and_the_models_ratio(
    tmp_path: Path,
) -> None:
    analysis = analyze(matrix_run(tmp_path))
    found = {(c.endpoint, c.users): c for c in analysis.shapes}
    assert set(found) == {("sync sleep", 10), ("async sleep", 10)}
    sync = found[("sync sleep", 10)]
    assert (sync.base, sync.a, sync.b) == ("sleep", "2 workers", "1 worker")
    assert sync.rps_a == 2 * sync.rps_b
    assert sync.ratio == 2.0 and sync.low <= 2.0 <= sync.high
    assert "sync sleep (2 workers) is 2.00× faster than with 1 worker" in sync.verdict
    # 10 users: neither shape is capped by its 40 tokens, so the model expects no change
    assert sync.expected == 1.0
    (line,) = [x for x in shapes.lines(analysis.shapes) if x.startswith("sleep: sync sleep")]
    assert line.startswith("sleep: sync sleep @ 10 users, 2 workers vs 1 worker: ")
    assert "2.00×" in line and "(model 1.00×)" in line


def test_the_summary_the_markdown_and_the_schema_carry_the_shapes(tmp_path: Path) -> None:
    analysis = analyze(matrix_run(tmp_path))
    document = json.loads(summary_json.text(analysis))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]
    assert not errors, errors[:5]
    assert {c["a"] for c in document["shapes"]} == {"2 workers"}
    servers = {s["name"]: s["server"] for s in document["scenarios"]}
    assert servers["sleep-w2"]["workers"] == 2
    assert servers["pitfalls"] == {
        "server": "uvicorn",
        "workers": 1,
        "loop": "auto",
        "http": "auto",
    }
    assert "**Server shapes**" in markdown(analysis)


def test_a_run_without_a_matrix_has_no_shape_comparison(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    analysis = analyze(run_dir)
    assert analysis.shapes == [] and shapes.lines([]) == []


def test_describe_names_only_what_varies() -> None:
    server = {**_server(2), "loop": "auto"}
    assert shapes.describe(server, ["workers"]) == "2 workers"
    assert shapes.describe(server, ["workers", "loop"]) == "2 workers, loop auto (uvloop)"
    assert shapes.describe({**server, "server": "gunicorn"}, ["server"]) == "gunicorn"
    assert math.isnan(shapes._expected(pd.Series({"predicted_rps": 1.0}), pd.Series({})))


def test_each_workers_share_is_its_own_rate_over_the_window(tmp_path: Path) -> None:
    """Worker 11 answered at the window's times; worker 12, blocked, answered 1 s late each
    time: its share is its own rate (served / its own interval), not a difference of counts
    read at different moments."""
    run_dir = matrix_run(tmp_path)
    doc = json.loads((run_dir / "results.json").read_text())
    (m,) = [x for x in doc["measurements"] if x["scenario"] == "sleep-w2" and x["repeat"] == 0][:1]
    start, end = m["window_start"], m["window_end"]

    def snap(t: float, a: int, b: int) -> dict[str, Any]:
        workers = [
            {"pid": 11, "t": t, "requests_total": a},
            {"pid": 12, "t": t - 1.0, "requests_total": b},
        ]
        return {"t": t, "requests_total": a + b, "workers": workers}

    # worker 11: 300 in the window (150/s); worker 12: 100 over its own 2 s (50/s)
    metrics = {"series": [snap(start, 0, 0), snap(end, 300, 100)], "base": None}
    (run_dir / "metrics" / "w2.json").write_text(json.dumps(metrics))
    m["metrics"] = "metrics/w2.json"
    (run_dir / "results.json").write_text(json.dumps(doc))
    run = results.load(run_dir)
    measured = next(x for x in run.measurements if x.id == m["id"])
    assert shapes.worker_shares(run_dir, measured) == [0.75, 0.25]
    (line,) = shapes.balance(run_dir, run)
    assert line.endswith("@ 10 users: the 2 workers served 75% / 25% of its requests")
