"""One endpoint, hammered by N users with no wait time (a closed model).

The runner passes the path and the window in its environment (``locustfiles/protocol.py``)
and picks the user class on Locust's command line:

- ``RawEndpointUser`` (default): the lean keep-alive client of ``locustfiles/rawhttp.py``;
- ``FastEndpointUser``: Locust's ``FastHttpUser`` (geventhttpclient), ~25 % more CPU per request.

See ``locustfiles/recorder.py`` for what is written.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, User, constant, task

from locustfiles import recorder  # noqa: F401  (registers the event listeners)
from locustfiles.protocol import LoadSettings
from locustfiles.rawhttp import make_client

SETTINGS = LoadSettings.from_env(os.environ)
PATH = SETTINGS.path
NAME = SETTINGS.name
TIMEOUT_S = SETTINGS.timeout_s


class RawEndpointUser(User):
    """Requests ``PATH`` back to back on one keep-alive connection; failures are recorded."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.raw = make_client(self.environment, self.host, TIMEOUT_S)

    def on_stop(self) -> None:
        self.raw.close()

    @task
    def hit(self) -> None:
        self.raw.get(PATH, NAME)


class FastEndpointUser(FastHttpUser):
    """The same with Locust's ``FastHttpUser``."""

    wait_time = constant(0)
    network_timeout = TIMEOUT_S
    connection_timeout = TIMEOUT_S
    max_retries = 0

    @task
    def hit(self) -> None:
        self.client.get(PATH, name=NAME)
