"""Folders of embedded servers whose harness is gone are removed; live ones are left alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.measure import orphans


def _folder(root: Path, name: str, owner: dict[str, float] | None) -> Path:
    folder = root / f"{orphans.PREFIX}{name}"
    (folder / "data").mkdir(parents=True)
    if owner is not None:
        (folder / orphans.OWNER_FILE).write_text(json.dumps(owner))
    return folder


def test_only_folders_of_dead_owners_are_reaped(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    orphan = _folder(tmp_path, "orphan", {"pid": int(dead.stdout), "started": 0.0})
    mine = _folder(tmp_path, "mine", None)
    orphans.write_owner(mine)
    unknown = _folder(tmp_path, "starting", None)  # no owner yet: being created
    done = orphans.reap(tmp_path)
    assert not orphan.exists() and mine.is_dir() and unknown.is_dir()
    assert done == [f"removed {orphan}, left by a harness that no longer exists"]
