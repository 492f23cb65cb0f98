"""A measurement's server-side series, read back from ``metrics/<id>.json``: the app's
``/_bench/metrics`` snapshots as the runner stored them (``series``, and the ``base`` read just
before the load). The keys the app writes are read here and nowhere else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.results import Measurement


@dataclass(frozen=True)
class ServerSample:
    """One ``/_bench/metrics`` snapshot of the app, as the runner stored it: the keys the app
    writes are read here and nowhere else."""

    t: float
    cpu_s: float
    rss_bytes: float
    requests_total: int
    inflight_now: float
    loop_lag_max_ms: float
    loop_lag_mean_ms: float
    threadpool_busy_max: float  # NaN when the app has no thread-pool gauge
    poll_ms: float
    # cumulative time the event loop was blocked, per route and frame (the app's watchdog,
    # checked by ``blocked_totals``); None when the app did not record it (older runs, or
    # BENCH_WATCHDOG_MS=0)
    blocked: Mapping[str, Any] | None = None
    # worker processes merged into this snapshot (target_app/worker_socket.py): sums of
    # requests, CPU, memory and tokens; the worst worker's loop lag
    workers: int = 1
    # pid → (when that worker answered, its requests_total): each worker answers when its own
    # loop gets to it, so a blocked one's figures are older than the snapshot's ``t``
    worker_requests: Mapping[int, tuple[float, int]] = field(default_factory=dict)
    # the tokens in use on average over the poll interval, and the pool's size (NaN: unknown)
    threadpool_busy_mean: float = math.nan
    threadpool_total: float = math.nan

    @classmethod
    def from_snapshot(cls, snap: dict[str, Any]) -> ServerSample:
        gauges = snap.get("gauges", {})
        busy = gauges.get("threadpool_borrowed", {}).get("max")
        lag = snap.get("loop_lag_ms", {})
        return cls(
            t=float(snap["t"]),
            cpu_s=float(snap.get("cpu_s", math.nan)),
            rss_bytes=float(snap.get("rss_bytes", math.nan)),
            requests_total=int(snap.get("requests_total", 0)),
            inflight_now=float(snap.get("inflight", {}).get("now", 0.0)),
            loop_lag_max_ms=float(lag.get("max", math.nan)),
            loop_lag_mean_ms=float(lag.get("mean", math.nan)),
            threadpool_busy_max=math.nan if busy is None else float(busy),
            threadpool_busy_mean=_gauge(gauges, "threadpool_borrowed", "mean"),
            threadpool_total=_gauge(gauges, "threadpool_total", "now"),
            poll_ms=float(snap.get("poll_ms", math.nan)),
            blocked=blocked_totals(snap.get("blocked")),
            workers=len(snap.get("workers") or ()) or 1,
            worker_requests={
                int(w["pid"]): (float(w.get("t", snap["t"])), int(w["requests_total"]))
                for w in snap.get("workers") or ()
            },
        )


def _gauge(gauges: Mapping[str, Any], name: str, key: str) -> float:
    value = gauges.get(name, {}).get(key)
    return math.nan if value is None else float(value)


def blocked_totals(doc: Any) -> dict[str, Any] | None:
    """The watchdog's ``"blocked"`` snapshot with every field the analysis reads, typed:
    ``{"threshold_ms", "total_s", "cpu_s", "routes": [{"route", "seconds", "samples",
    "frames": [{"frame", "line", "context", "seconds"}]}]}``. A damaged one raises (KeyError,
    TypeError, ValueError), which ``load_metrics`` reports with the file's name."""
    if doc is None:
        return None
    routes = [
        {
            "route": str(r["route"]),
            "seconds": float(r["seconds"]),
            "samples": int(r.get("samples", 0)),
            "frames": [
                {
                    "frame": str(f["frame"]),
                    "line": str(f.get("line", "")),
                    "context": str(f.get("context", "")),
                    "seconds": float(f["seconds"]),
                }
                for f in r.get("frames", [])
            ],
        }
        for r in doc.get("routes", [])
    ]
    return {
        "threshold_ms": float(doc.get("threshold_ms", 0.0)),
        "total_s": float(doc.get("total_s", 0.0)),
        "cpu_s": float(doc.get("cpu_s", math.nan)),  # the watchdog thread's own CPU time
        "routes": routes,
    }


def load_metrics(run_dir: Path, measurement: Measurement) -> list[ServerSample]:
    """The server-metrics series of a measurement ([] when it has none)."""
    path = run_dir / measurement.metrics
    if not measurement.metrics or not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return [ServerSample.from_snapshot(s) for s in doc.get("series", [])]
    except (
        OSError,
        UnicodeDecodeError,
        json.JSONDecodeError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
    ) as exc:
        raise BenchError(f"{path}: unreadable server metrics ({exc})") from None


def load_metrics_base(run_dir: Path, measurement: Measurement) -> ServerSample | None:
    """The snapshot read just before a measurement's load (cumulative totals to subtract);
    None for runs that did not keep it."""
    path = run_dir / measurement.metrics
    if not measurement.metrics or not path.is_file():
        return None
    try:
        base = json.loads(path.read_text(encoding="utf-8")).get("base")
        return ServerSample.from_snapshot(base) if base else None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return None
