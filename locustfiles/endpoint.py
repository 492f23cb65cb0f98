"""One endpoint, hammered by N users with no wait time (a closed model).

The runner passes the path in ``BENCH_PATH`` and the window in ``BENCH_WARMUP_S`` /
``BENCH_DURATION_S``; see ``locustfiles/recorder.py`` for what is written.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, task

from locustfiles import recorder  # noqa: F401  (registers the event listeners)

PATH = os.environ.get("BENCH_PATH", "/async/hello")
NAME = os.environ.get("BENCH_NAME", PATH)
TIMEOUT_S = float(os.environ.get("BENCH_TIMEOUT_S", "30"))


class EndpointUser(FastHttpUser):
    """Requests ``PATH`` back to back; failures and timeouts are recorded, not raised."""

    wait_time = constant(0)
    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S
    max_retries = 0

    @task
    def hit(self) -> None:
        self.client.get(PATH, name=NAME)
