"""What a run will measure, and how: the validated options (``RunOptions``) and the steps a
scenario expands into (``plan``: repeats outermost, then endpoints alone, then mixes, then
users levels or rates), each with its id, title and load-generator job; ``estimate_s`` their
wall time for the progress display. Nothing here starts a process (``runner`` does)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.measure import services
from harness.measure.app import Source
from harness.measure.distributed import Cluster
from harness.measure.loadgen import Job
from harness.measure.pinning import Pinning
from harness.results import Measurement
from locustfiles.protocol import RequestSpec
from scenarios.model import MIX, Endpoint, Scenario


@dataclass(frozen=True)
class RunOptions:
    """How to run, already validated (``harness.measure.request.prepare``)."""

    out: Path = Path("reports")
    port: int = 0
    client: str = "raw"
    request_timeout_s: float = 30.0
    settings: Mapping[str, Any] = field(default_factory=dict)
    services: services.ServiceOptions = field(default_factory=services.ServiceOptions)
    command: tuple[str, ...] = ()
    allow_concurrent: bool = False
    source: Source = field(default_factory=Source)  # --app / --target (else the scenario's)
    checks: tuple[str, ...] = ()  # --check texts, validated by the CLI; saved with the run
    # --retry-disturbed N: measure a disturbed measurement again, up to N times; ``guard`` says
    # why one is disturbed ([] when clean: the analysis's rules, handed in by the CLI)
    retry_disturbed: int = 0
    guard: Callable[[Path, Measurement], list[str]] | None = field(default=None, compare=False)
    # --loadgen-processes / --loadgen-remote / --master-bind: Locust's distributed mode
    cluster: Cluster = field(default_factory=Cluster)
    # the CPUs of each role (--app-cpus …, checked by prepare); None: the default plan here
    pinning: Pinning | None = None


@dataclass(frozen=True)
class Step:
    """One measurement: an endpoint alone, or a mix of endpoints (label, parts and weights)."""

    scenario: Scenario
    label: str
    variant: str
    parts: tuple[tuple[Endpoint, float], ...]
    users: int  # the open model: its in-flight cap (the concurrency it may reach)
    repeat: int
    attempt: int = 0  # > 0: measured again after a disturbed attempt (--retry-disturbed)
    rate: float = 0.0  # > 0: the open model, requests sent at this rate (requests/s)

    @classmethod
    def solo(
        cls, scenario: Scenario, endpoint: Endpoint, users: int, repeat: int, rate: float = 0.0
    ) -> Step:
        parts = ((endpoint, 1.0),)
        return cls(scenario, endpoint.label, endpoint.variant, parts, users, repeat, rate=rate)

    @property
    def level(self) -> str:
        """``u50`` (50 users) or ``rate400`` (400 requests/s): a part of the id."""
        return f"rate{self.rate:g}" if self.rate else f"u{self.users}"

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint measured (a mix's first one)."""
        return self.parts[0][0]

    @property
    def path(self) -> str:
        """The endpoint's path; for a mix, each path with its share of requests."""
        if len(self.parts) == 1:
            return self.parts[0][0].path
        total = sum(w for _, w in self.parts)
        return " + ".join(f"{w / total:.0%} {e.method} {e.path}" for e, w in self.parts)

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.label.lower()).strip("-")
        again = f"--a{self.attempt}" if self.attempt else ""
        return f"{self.scenario.name}--{slug}--{self.level}--r{self.repeat}{again}"

    @property
    def title(self) -> str:
        where = (
            f"{self.label} @ {self.rate:,g} req/s"
            if self.rate
            else f"{self.label} @ {self.users} users"
        )
        again = f", attempt {self.attempt + 1}" if self.attempt else ""
        return f"{self.scenario.name}: {where} (#{self.repeat + 1}{again})"

    def job(self, options: RunOptions) -> Job:
        return Job(
            id=self.id,
            requests=tuple(RequestSpec.from_dict(e.request(w)) for e, w in self.parts),
            users=self.users,
            warmup_s=self.scenario.warmup_s,
            duration_s=self.scenario.duration_s,
            client=options.client,
            timeout_s=options.request_timeout_s,
            rate=self.rate,
            arrivals=self.scenario.arrivals,
            max_in_flight=self.scenario.max_in_flight,
        )


def _levels(scenario: Scenario) -> list[tuple[int, float]]:
    """(users, rate) per level: the users levels (closed), or the rates at the in-flight cap."""
    if scenario.rates:
        return [(scenario.max_in_flight, rate) for rate in scenario.rates]
    return [(users, 0.0) for users in scenario.users]


def plan(scenario: Scenario) -> Iterator[Step]:
    """Repeats outermost, then endpoints (alone, then mixed), then users levels."""
    endpoints = scenario.rendered_endpoints()
    by_label = {e.label: e for e in endpoints}
    for repeat in range(scenario.repeat):
        for endpoint in endpoints:
            if endpoint.solo:
                for users, rate in _levels(scenario):
                    yield Step.solo(scenario, endpoint, users, repeat, rate)
        for mix in scenario.mixes:
            parts = tuple((by_label[name], weight) for name, weight in mix.parts)
            for users, rate in _levels(scenario):
                yield Step(scenario, mix.label, MIX, parts, users, repeat, rate=rate)


def estimate_s(scenarios: list[Scenario]) -> float:
    """Rough wall time: window + Locust start-up per measurement, app start per scenario."""
    return sum(4.0 + sum(s.warmup_s + s.duration_s + 2.5 for _ in plan(s)) for s in scenarios)
