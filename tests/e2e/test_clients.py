"""Locust's own FastHttpUser (--client fasthttp) measures like the lean client: a regression
test, since every request it sent was once recorded as an error (it read ``response.error``,
which only Locust's ErrorResponse has) and the run showed 0 requests/s."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.analysis.analyze import analyze
from tests.e2e.helpers import BENCH, E2E

pytestmark = E2E


def test_fasthttp_serves_requests_without_errors(tmp_path: Path) -> None:
    argv = [
        *BENCH,
        *("run", "baseline", "--client", "fasthttp", "--users", "5"),
        *("--duration", "1s", "--warmup", "0.5s", "--no-calibrate", "--no-report"),
        *("--out", str(tmp_path)),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())
    table = analyze(run_dir).table
    assert len(table) == 2
    assert (table["errors"] == 0).all() and (table["rps"] > 100).all(), table[["rps", "errors"]]
