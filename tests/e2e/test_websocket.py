"""WebSockets end to end: Locust's WebSocket users (websocket-client under gevent) drive the echo,
its pitfall and idle connections; messages are samples like requests, the app counts them the
same, the pitfall is named as the loop's blocker, and idle connections get their memory cost."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness.analysis.analyze import analyze
from tests.e2e.helpers import BENCH, E2E

pytestmark = E2E

SCENARIO = """
name = "ws"
description = "e2e: WebSocket echo, its pitfall, idle connections"
users = [10]
duration = "2s"
warmup = "1.5s"
[[endpoints]]
label = "async echo"
variant = "async"
protocol = "websocket"
path = "/ws/echo?ms=10"
model = { concurrency = "users", service_ms = "10" }
[[endpoints]]
label = "pitfall echo"
variant = "pitfall"
protocol = "websocket"
path = "/ws/pitfall/echo?ms=10"
model = { concurrency = "serial", service_ms = "10" }
[[endpoints]]
label = "echo, 0 idle"
variant = "async"
protocol = "websocket"
path = "/ws/echo"
[[endpoints]]
label = "echo, 300 idle"
variant = "async"
protocol = "websocket"
path = "/ws/echo"
idle = 300
"""


def test_websocket_messages_are_measured_like_requests(tmp_path: Path) -> None:
    path = tmp_path / "ws.toml"
    path.write_text(SCENARIO)
    argv = [*BENCH, "run", str(path), "--no-calibrate", "--no-report", "--out", str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())
    analysis = analyze(run_dir)
    rows = analysis.table.set_index("endpoint")
    assert (rows["errors"] == 0).all() and (rows["rps"] > 0).all()
    # the pitfall: one message at a time (1 / 10 ms); the awaited wait overlaps the 10 users'
    # (a ratio, not the model's 1,000/s: a busy VM's timers stretch a 10 ms sleep)
    assert 0.7 <= rows.loc["pitfall echo", "ratio"] <= 1.1, rows.loc["pitfall echo", "rps"]
    assert rows.loc["async echo", "rps"] >= 4 * rows.loc["pitfall echo", "rps"]
    assert not [d for d in analysis.disturbed if any(r.rule == "count" for r in d.reasons)]
    blocked = {x.route for b in analysis.blocking for x in b.blockers}
    assert "WS /ws/pitfall/echo" in blocked and not any("/ws/echo" in r for r in blocked)
    idle_meta = json.loads(
        (run_dir / "samples" / "ws--echo-300-idle--u10--r0.meta.json").read_text()
    )
    assert idle_meta["idle_connections"] == 300
    (sentence,) = analysis.idle
    assert sentence.startswith("ws / echo, 300 idle @ 10 users: 300 idle connections open")
    assert "KiB each" in sentence
