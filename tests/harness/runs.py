"""The checked-in runs the analysis and report tests read, and edited copies of them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
