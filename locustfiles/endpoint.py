"""One endpoint, or a weighted mix of several, hammered by N users with no wait time (a closed
model).

The runner passes the requests and the window in its environment (``locustfiles/protocol.py``)
and picks the user class on Locust's command line; a distributed worker gets them from its
master (``locustfiles/cluster.py``), so they are read when a user starts, not at import. In a
mix, each request picks its endpoint by weight, so every user sends the mix's shares over time.

- ``RawEndpointUser`` (default): the lean keep-alive client of ``locustfiles/rawhttp.py``;
- ``FastEndpointUser``: Locust's ``FastHttpUser`` (geventhttpclient), ~25 % more CPU per request;
- ``WebSocketUser`` (and ``IdleWebSocketUser``): a WebSocket endpoint, ``locustfiles/sockets.py``;
- ``OpenRateUser``: the open model, one user whose task is a schedule (``locustfiles/schedule.py``)
  sending ``rate`` requests/s, each on a greenlet of its own with a connection from a pool, up to
  ``max_in_flight`` at once, whatever the server answers.

Each user takes an index (0, 1, …) that its samples carry (fairness), and notes each request's
start with the recorder before sending it (the requests in flight when the window ends).
See ``locustfiles/recorder.py`` for what is written.
"""

from __future__ import annotations

import itertools
import random
import time
from typing import Any

import gevent
from locust import FastHttpUser, User, constant, events, task
from locust.env import Environment

from locustfiles import (
    cluster,  # noqa: F401  (the distributed mode's listeners and messages)
    rawhttp,
    recorder,  # registers the event listeners
    schedule,
)
from locustfiles.protocol import OFFERED_RATE, STALE_RETRIES, LoadSettings, RequestSpec
from locustfiles.rawhttp import RawHTTPClient, encode, make_client
from locustfiles.sockets import (  # noqa: F401  (Locust picks user classes from this module)
    IdleWebSocketUser,
    WebSocketUser,
)

_INDEX = itertools.count()  # the users' indexes, in the order they start


def settings() -> LoadSettings:
    """This measurement's settings (a worker receives them from its master: read them late)."""
    return recorder.SETTINGS


def pick(requests: tuple[RequestSpec, ...]) -> int:
    """The index of the next request's endpoint (always 0 for a single endpoint)."""
    if len(requests) == 1:
        return 0
    return random.choices(range(len(requests)), [r.weight for r in requests])[0]


class RawEndpointUser(User):
    """Sends the requests back to back on one keep-alive connection; failures are recorded."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.index = next(_INDEX)
        self.requests = settings().requests
        timeout_s = settings().timeout_s
        self.raw = make_client(self.environment, self.host, timeout_s, {recorder.USER: self.index})
        self.encoded = [encode(r, self.raw.host, self.raw.port) for r in self.requests]

    def on_stop(self) -> None:
        self.raw.close()
        recorder.WINDOW.meta[STALE_RETRIES] = rawhttp.STALE_RETRIES[0]

    @task
    def hit(self) -> None:
        index = pick(self.requests)
        recorder.IN_FLIGHT.begin(self.index, self.requests[index].name)
        self.raw.send(self.requests[index], self.encoded[index])  # its sample ends it


class FastEndpointUser(FastHttpUser):
    """The same with Locust's ``FastHttpUser``."""

    wait_time = constant(0)
    network_timeout = recorder.SETTINGS.timeout_s  # a worker's: set again at test start
    connection_timeout = recorder.SETTINGS.timeout_s
    max_retries = 0

    def on_start(self) -> None:
        self.index = next(_INDEX)

    def context(self) -> dict[str, int]:
        return {recorder.USER: self.index}

    @task
    def hit(self) -> None:
        requests = settings().requests
        spec: RequestSpec = requests[pick(requests)]
        recorder.IN_FLIGHT.begin(self.index, spec.name)
        headers = dict(spec.headers)
        if spec.body:
            headers.setdefault("Content-Type", "application/json")
        with self.client.request(
            spec.method,
            spec.path,
            name=spec.name,
            headers=headers,
            data=spec.body or None,
            catch_response=True,
        ) as response:
            error = getattr(response, "error", None)  # set on Locust's ErrorResponse only
            if error is not None:
                response.failure(error)
            elif not spec.expects(response.status_code):
                response.failure(f"HTTP {response.status_code}")
            else:
                response.success()


class OpenRateUser(User):
    """The open model: requests sent on a schedule (``SETTINGS.rate`` per second, constant or
    Poisson spacing), each from its own greenlet, whatever the server answers; run it as one
    user. Connections are kept in a pool and reused (keep-alive), one request at a time each."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.free: list[RawHTTPClient] = []
        self.settings = settings()
        self.slots = schedule.Slots(self.settings.max_in_flight, recorder.WINDOW.meta)
        self.sequence = itertools.count()
        self.encoded: list[bytes] = []
        recorder.WINDOW.meta[OFFERED_RATE] = self.settings.rate

    def on_stop(self) -> None:
        for client in self.free:
            client.close()
        recorder.WINDOW.meta[STALE_RETRIES] = rawhttp.STALE_RETRIES[0]

    def _client(self) -> RawHTTPClient:
        if self.free:
            return self.free.pop()
        client = make_client(self.environment, self.host, self.settings.timeout_s)
        if not self.encoded:
            self.encoded = [encode(r, client.host, client.port) for r in self.settings.requests]
        return client

    def _send(self, intended: float, key: int, index: int) -> None:
        client = self._client()
        client.context = {recorder.USER: -1, recorder.INTENDED: intended, recorder.SLOT: key}
        try:
            client.send(self.settings.requests[index], self.encoded[index])  # ends the slot
        finally:
            self.free.append(client)
            self.slots.give()

    def launch(self, intended: float) -> bool:
        if not self.slots.take():
            return False
        key = -2 - next(self.sequence)  # in-flight keys apart from users' indexes (≥ -1)
        index = pick(self.settings.requests)
        recorder.IN_FLIGHT.begin(key, self.settings.requests[index].name, intended)
        gevent.spawn(self._send, intended, key, index)
        return True

    @task
    def run_schedule(self) -> None:
        times = schedule.intended_times(time.time(), self.settings.rate, self.settings.arrivals)
        schedule.drive(times, self.launch, recorder.WINDOW.meta, time.time, gevent.sleep)
        gevent.sleep(3600)  # the window is over: Locust quits


@events.test_start.add_listener
def on_test_start(environment: Environment, **_: Any) -> None:
    """A worker's settings arrive with the master's spawn message: its timeouts too."""
    timeout_s = settings().timeout_s
    FastEndpointUser.network_timeout = FastEndpointUser.connection_timeout = timeout_s
