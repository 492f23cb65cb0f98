"""Checks that fail the build: their grammar, parsed once, and their labels validated.

A check is one line, judged against a run's table (``harness/analysis/verdicts.py``)::

    async sleep: rps >= 900               an endpoint's metric, at every users level it has
    async sleep @ 100: p99 <= 300ms       … at one users level (units: ms, s)
    async sleep @ 400 req/s: p99 <= 150ms … at one offered rate of the open model (--rate)
    sleep/async sleep: error_rate <= 1%   a label qualified by its scenario when it is ambiguous
    async sleep / sync sleep >= 2         a throughput ratio, judged by its 95 % CI
    errors == 0                           over every measurement of the run (also timeouts)

Endpoint labels are matched case-insensitively. A malformed check is a one-line ``CheckError``
naming the check; an unknown or ambiguous label lists the known ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from harness.errors import BenchError

RATIO = "rps ratio"  # the metric of "A / B >= x": throughput of A over B


@dataclass(frozen=True)
class Metric:
    column: str  # the column of the analysis table that holds it
    kind: str  # rps, ms, count, share, model, ratio: its units and how it is shown


METRICS = {
    "rps": Metric("rps", "rps"),
    "p50": Metric("p50_ms", "ms"),
    "p90": Metric("p90_ms", "ms"),
    "p99": Metric("p99_ms", "ms"),
    "max": Metric("max_ms", "ms"),
    "mean": Metric("mean_ms", "ms"),
    "errors": Metric("errors", "count"),
    "timeouts": Metric("timeouts", "count"),
    "error_rate": Metric("error_rate", "share"),
    "measured/predicted": Metric("ratio", "model"),
    RATIO: Metric("rps", "ratio"),
}
ALIASES = {"ratio_to_model": "measured/predicted"}
RUN_WIDE = ("errors", "timeouts", "error_rate")  # may be written without an endpoint
# the units each kind accepts after its number, and what they multiply it by
UNITS: dict[str, dict[str, float]] = {
    "rps": {"": 1.0},
    "ms": {"": 1.0, "ms": 1.0, "s": 1000.0},
    "count": {"": 1.0},
    "share": {"": 1.0, "%": 0.01},
    "model": {"": 1.0, "%": 0.01},
    "ratio": {"": 1.0, "x": 1.0, "×": 1.0},
}
EXAMPLES = {
    "rps": "900",
    "ms": "300ms or 0.3s",
    "count": "0",
    "share": "1% or 0.01",
    "model": "90% or 0.9",
    "ratio": "2 or 2x",
}
OPERATORS = (">=", "<=", "==", ">", "<")
SYMBOLS = {">=": "≥", "<=": "≤", "==": "=", ">": ">", "<": "<"}
NEGATED = {">=": "<", "<=": ">", "==": "≠", ">": "≤", "<": "≥"}  # what a failed check found
FORMS = "'async sleep: rps >= 900', 'async sleep / sync sleep >= 2' or 'errors == 0'"
MAX_USERS = 5000
MAX_RATE = 100_000.0  # requests/s, as scenarios/model.py allows

_COMPARISON = re.compile(r"^(?P<left>[^<>=≥≤]*?)\s*(?P<op>>=|<=|==|≥|≤|>|<|=)\s*(?P<value>.*)$")
_SUBJECT = re.compile(r"^(?P<label>[^@]*?)\s*@\s*(?P<users>.*)$")
_RATE = re.compile(r"^(?P<number>\d[\d,_]*(?:\.\d*)?)\s*(?:req/s|rps|/s)$", re.I)
_NUMBER = re.compile(r"^(?P<number>\d[\d,_]*(?:\.\d*)?|\.\d+)\s*(?P<unit>[a-z%×]*)$", re.I)


class CheckError(BenchError):
    """A check that cannot be judged as written: the message names it and what is wrong."""

    def __init__(self, text: str, problem: str) -> None:
        super().__init__(f"check {text!r}: {problem}")


@dataclass(frozen=True)
class Check:
    """One parsed check. ``threshold`` is in the metric's own unit: ms for latency, a share
    (0.01 = 1 %) for error_rate and measured/predicted, a plain number otherwise."""

    text: str
    metric: str
    op: str
    threshold: float
    endpoint: str = ""  # the label as written ("" = every measurement of the run)
    other: str = ""  # a ratio's denominator
    users: int | None = None  # None: every users level
    scope: str = ""  # the scenario whose file holds the check ("" = given on the command line)
    rate: float | None = None  # "@ 400 req/s": one offered rate of the open model

    @property
    def kind(self) -> str:
        return METRICS[self.metric].kind

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for label in (self.endpoint, self.other) if label)


def parse(text: str, scope: str = "") -> Check:
    """``"async sleep @ 100: p99 <= 300ms"`` → a ``Check``; a ``CheckError`` when malformed.
    ``scope``: the scenario whose file holds the check (its labels are that scenario's)."""
    return replace(_parse(" ".join(str(text).split())), scope=scope)


def _parse(written: str) -> Check:
    if not written:
        raise CheckError(written, f"empty; write it like {FORMS}")
    found = _COMPARISON.match(written)
    if not found:
        raise CheckError(written, f"no comparison (>=, <=, ==, >, <); write it like {FORMS}")
    op = {"≥": ">=", "≤": "<="}.get(found["op"], found["op"])
    value, left = found["value"].strip(), found["left"].strip()
    if op == "=":
        raise CheckError(written, "write == to test equality")
    if re.search(r"[<>=≥≤]", value):
        raise CheckError(written, "one comparison per check")
    if not value:
        raise CheckError(written, f"no threshold after {op}")
    if ":" in left:
        subject, _, name = left.rpartition(":")
        label, users, rate = _subject(written, subject)
        metric = _metric(written, name)
        threshold = _number(written, metric, value)
        return Check(written, metric, op, threshold, label, users=users, rate=rate)
    if left.lower() in METRICS or left.lower() in ALIASES:
        metric = _metric(written, left)
        if metric not in RUN_WIDE:
            example = f"'async sleep: {metric} {op} {value}'"
            raise CheckError(written, f"{metric} needs an endpoint, e.g. {example}")
        return Check(written, metric, op, _number(written, metric, value))
    return _ratio(written, left, op, value)


def _ratio(written: str, left: str, op: str, value: str) -> Check:
    sides = re.split(r"\s+/\s+", left)
    if len(sides) != 2:
        raise CheckError(
            written,
            "expected 'ENDPOINT: METRIC', a ratio 'A / B' (spaces around /) or one of "
            f"{', '.join(RUN_WIDE)}; write it like {FORMS}",
        )
    (a, users_a, rate_a), (b, users_b, rate_b) = (_subject(written, side) for side in sides)
    if rate_a is not None or rate_b is not None:
        raise CheckError(
            written,
            "a ratio compares throughput at a users level (the closed model); at an offered "
            "rate compare latency instead, e.g. 'async sleep @ 400 req/s: p99 <= 150ms'",
        )
    if users_a is not None and users_b is not None and users_a != users_b:
        raise CheckError(written, "a ratio compares two endpoints at the same users level")
    users = users_a if users_a is not None else users_b
    threshold = _number(written, RATIO, value)
    return Check(written, RATIO, op, threshold, a, b, users)


def _subject(written: str, subject: str) -> tuple[str, int | None, float | None]:
    """``"async sleep @ 100"`` → ("async sleep", 100, None); ``"async sleep @ 400 req/s"`` →
    ("async sleep", None, 400.0); ``"async sleep"`` → ("async sleep", None, None)."""
    found = _SUBJECT.match(subject.strip())
    label = (found["label"] if found else subject).strip()
    if not label:
        raise CheckError(written, "no endpoint label (e.g. 'async sleep: rps >= 900')")
    if not found:
        return label, None, None
    level = found["users"].strip()
    rate = _RATE.match(level)
    if rate:
        value = float(rate["number"].replace(",", "").replace("_", ""))
        if not 0 < value <= MAX_RATE:
            raise CheckError(written, f"after @: an offered rate 0..{MAX_RATE:,.0f} req/s")
        return label, None, value
    if not level.isdigit() or not 1 <= int(level) <= MAX_USERS:
        raise CheckError(
            written,
            f"after @: a users level 1..{MAX_USERS} or an offered rate like '400 req/s', "
            f"got {level!r}",
        )
    return label, int(level), None


def _metric(written: str, name: str) -> str:
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in METRICS or key == RATIO:
        known = ", ".join([*(m for m in METRICS if m != RATIO), *ALIASES])
        raise CheckError(written, f"unknown metric {name.strip()!r}; known: {known}")
    return key


def _number(written: str, metric: str, value: str) -> float:
    """The threshold in the metric's unit: ``300ms``/``0.3s`` → 300.0, ``1%`` → 0.01."""
    kind = METRICS[metric].kind
    found = _NUMBER.match(value)
    if not found:
        raise CheckError(written, f"{value!r} is not a number ≥ 0 (e.g. {EXAMPLES[kind]})")
    number = float(found["number"].replace(",", "").replace("_", ""))
    unit = found["unit"].lower()
    if unit not in UNITS[kind]:
        raise CheckError(written, f"{metric} takes a value like {EXAMPLES[kind]}, got {value!r}")
    number *= UNITS[kind][unit]
    if kind == "count" and not number.is_integer():
        raise CheckError(written, f"{metric} is a count: a whole number, got {value!r}")
    if kind == "share" and number > 1:
        raise CheckError(written, f"{metric} is a share: 0..1 or 0%..100%, got {value!r}")
    return number


def parse_all(texts: Sequence[str], scope: str = "") -> list[Check]:
    return [parse(text, scope) for text in texts]


class Labelled(Protocol):
    """What validation needs of a scenario (``scenarios.model.Scenario`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def users(self) -> tuple[int, ...]: ...
    @property
    def measured_labels(self) -> tuple[str, ...]: ...
    @property
    def rates(self) -> tuple[float, ...]: ...


def validate(checks: Sequence[Check], scenarios: Sequence[Labelled], users: bool = True) -> None:
    """Every label of every check names one endpoint the run will measure, and an ``@ N`` is one
    of its users levels (unless ``users`` is False: a scenario file's levels may be overridden
    by --users): a ``CheckError`` before any load otherwise."""
    known = {s.name: s.measured_labels for s in scenarios}
    levels = {s.name: s.users for s in scenarios}
    rates = {s.name: s.rates for s in scenarios}
    for check in checks:
        for label in check.labels:
            scenario, found = resolve(check, label, known)
            if users and check.users is not None and check.users not in levels[scenario]:
                measured = ", ".join(map(str, levels[scenario])) or "no users level"
                raise CheckError(
                    check.text, f"{found!r} is measured at {measured} users, not {check.users}"
                )
            if users and check.rate is not None and check.rate not in rates[scenario]:
                offered = ", ".join(f"{r:g}" for r in rates[scenario])
                at = f"offered {offered} req/s" if offered else "measured by users (no --rate)"
                raise CheckError(check.text, f"{found!r} is {at}, not {check.rate:g} req/s")


def resolve(check: Check, label: str, known: Mapping[str, Sequence[str]]) -> tuple[str, str]:
    """The (scenario, endpoint label) that ``label`` names among ``known`` (labels by scenario,
    only the check's own scenario for a scenario file's check): case-insensitive, qualified as
    "scenario/label" when it is ambiguous."""
    pool = {s: labels for s, labels in known.items() if not check.scope or s == check.scope}
    wanted = label.lower()
    hits = [(s, x) for s, labels in pool.items() for x in labels if x.lower() == wanted]
    if not hits and "/" in label:
        scenario, _, rest = (part.strip().lower() for part in label.partition("/"))
        hits = [(s, x) for s, labels in pool.items() for x in labels if s.lower() == scenario]
        hits = [(s, x) for s, x in hits if x.lower() == rest]
    if len(hits) == 1:
        return hits[0]
    if hits:
        where = ", ".join(s for s, _ in hits)
        first = f"{hits[0][0]}/{hits[0][1]}"
        raise CheckError(check.text, f"{label!r} is in {where}: qualify it, e.g. {first!r}")
    counts: dict[str, int] = {}
    for labels in pool.values():
        for x in dict.fromkeys(labels):
            counts[x.lower()] = counts.get(x.lower(), 0) + 1
    names = [
        f"{s}/{x}" if counts[x.lower()] > 1 else x
        for s, labels in pool.items()
        for x in dict.fromkeys(labels)
    ]
    raise CheckError(check.text, f"unknown endpoint {label!r}; known: {', '.join(names)}")
