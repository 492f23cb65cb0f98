"""Poll the app's ``/_bench/metrics`` on its own connection while a measurement runs.

The poller runs in a thread so a blocked event loop (the pitfalls) delays only the poll, never
the runner; the time each poll took is kept too (it is itself a symptom of a blocked loop).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from harness.files import write_atomic
from harness.server_samples import ServerSample

Reader = Callable[[httpx.Client], dict[str, Any]]  # one snapshot (App.read_metrics)


def _get(url: str) -> Reader:
    def read(client: httpx.Client) -> dict[str, Any]:
        doc: dict[str, Any] = client.get(url).json()
        return doc

    return read


class MetricsPoller:
    """``read`` gives one snapshot (default: GET ``url``; several workers: each worker's,
    merged, ``harness/measure/server.py``)."""

    def __init__(
        self,
        url: str,
        interval_s: float = 0.5,
        timeout_s: float = 10.0,
        read: Reader | None = None,
    ) -> None:
        self.url = url
        self.read = read or _get(url)
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.series: list[dict[str, Any]] = []
        self.base: dict[str, Any] | None = None  # the first read: cumulative totals before
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="metrics-poller", daemon=True)

    def __enter__(self) -> MetricsPoller:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(self.timeout_s + 1.0)

    def _loop(self) -> None:
        with httpx.Client(timeout=self.timeout_s) as client:
            first = True
            while not self._stop.is_set():
                asked = time.time()
                try:
                    snapshot = self.read(client)
                except (httpx.HTTPError, OSError, ValueError):
                    self.errors += 1
                else:
                    snapshot["poll_ms"] = (time.time() - asked) * 1000.0
                    snapshot["asked"] = asked
                    if not first:  # the first read only closes the previous window
                        self.series.append(snapshot)
                    else:  # its cumulative totals are where this measurement starts from
                        self.base = snapshot
                    first = False
                self._stop.wait(max(0.0, self.interval_s - (time.time() - asked)))

    def save(self, path: Path) -> None:
        doc = {
            "url": self.url,
            "interval_s": self.interval_s,
            "errors": self.errors,
            "series": self.series,
            "base": self.base,
        }
        write_atomic(path, json.dumps(doc, indent=0, sort_keys=True))


def wait_idle(
    url: str,
    check: Callable[[], None],
    timeout_s: float = 60.0,
    poll_s: float = 0.2,
    read: Reader | None = None,
) -> bool:
    """Poll the app's metrics until no request is in flight (e.g. a blocked backlog from the
    previous measurement); False if it still had some after ``timeout_s``. ``check`` raises
    when a child the run depends on has died (then waiting is pointless)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=10.0) as client:
        while time.monotonic() < deadline:
            check()
            try:
                sample = ServerSample.from_snapshot((read or _get(url))(client))
            except (httpx.HTTPError, OSError, ValueError, KeyError, TypeError, AttributeError):
                time.sleep(poll_s)
                continue
            if sample.inflight_now == 0:
                return True
            time.sleep(poll_s)
    return False
