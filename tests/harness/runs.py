"""The checked-in runs the analysis and report tests read, and edited copies of them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.results import Measurement

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE = FIXTURES / "run-small"


def edited_copy(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of ``run-small`` whose results.json went through ``edit`` (never the fixture)."""
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    doc = json.loads((run_dir / "results.json").read_text())
    edit(doc)
    (run_dir / "results.json").write_text(json.dumps(doc))
    return run_dir


def measurement(scenario: str, endpoint: str, **fields: Any) -> Measurement:
    """A finished measurement of ``endpoint`` for a hand-made run: 10 users, a 2 s window at 0,
    no files, unless ``fields`` say otherwise."""
    doc: dict[str, Any] = {
        "id": f"{scenario}--{endpoint}",
        "scenario": scenario,
        "endpoint": endpoint,
        "variant": "async",
        "path": "/x",
        "users": 10,
        "repeat": 0,
        "warmup_s": 1.0,
        "duration_s": 2.0,
        "samples": "",
        "metrics": "",
        "window_start": 0.0,
        "window_end": 2.0,
        "loadgen_cpu_share": 0.1,
        "loadgen_cpu_warning": False,
        **fields,
    }
    return Measurement(**doc)
