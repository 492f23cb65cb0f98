"""Honest tails and fair shares in the closed model: censored percentiles and per-user spread.

A request still in flight when the window ends is the slowest of all, and has no response time
yet: dropping it flatters the tail (at 200 users on a blocked loop, the requests that waited
longest are exactly the ones missing). Here it is a *censored* sample: its latency is at least
its age at the window's end. For each percentile, the in-flight requests already older than
the completed requests' percentile are certainly above it: they join the completed successes as
censored values (a censored value sorts after an equal completed one). Younger ones say nothing
about it — like every request of a closed loop at any instant, they may end like the completed
ones — and are left out (at the end of any window all N users have a request in flight; counted
at their young age they would pull a healthy endpoint's percentiles *down*). A percentile whose
value reads a censored one is a lower bound (``≥``); else it stands as measured.

Fairness: the completions of each user in the window. A server that serves its connections in
turn gives every user about the same count; a blocked event loop serves some connections again
and again while others starve — the pitfall's signature.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.analysis import arrivals
from harness.analysis.formatting import fmt

# Judged unfair when the per-user counts are far more spread than chance would spread them:
# variance / mean over this (a fair closed model is near 0, users served at random near 1)…
UNFAIR_DISPERSION = 3.0
# …and when there are enough completions to judge.
MIN_COMPLETIONS = 20


@dataclass(frozen=True)
class Percentile:
    """One percentile of a window: its value (ms) and whether it is only a lower bound."""

    value: float
    censored: bool


def censored_percentiles(
    done_ms: np.ndarray, ages_ms: np.ndarray, qs: Iterable[int]
) -> dict[int, Percentile]:
    """Each percentile ``q`` of ``done_ms`` (completed) with the ``ages_ms`` (censored: latency
    ≥ age) at least as old as the completed requests' own percentile (all of them when nothing
    completed), as ``np.percentile`` interpolates (linear, rank ``q/100 (n-1)``). A lower bound
    when a censored value sits at or below the upper rank it reads."""
    done, ages = np.asarray(done_ms, float), np.asarray(ages_ms, float)
    found = {}
    for q in qs:
        older = ages[ages >= np.percentile(done, q)] if len(done) else ages
        found[q] = _percentile(done, older, q)
    return found


def _percentile(done: np.ndarray, censored_at: np.ndarray, q: int) -> Percentile:
    values = np.concatenate([done, censored_at])
    if not len(values):
        return Percentile(math.nan, False)
    flags = np.concatenate([np.zeros(len(done), bool), np.ones(len(censored_at), bool)])
    order = np.lexsort((flags, values))  # by value; a censored one after an equal completed one
    ordered, censored = values[order], flags[order]
    first = int(np.argmax(censored)) if censored.any() else len(ordered)
    high = math.ceil(q / 100 * (len(ordered) - 1))
    return Percentile(float(np.percentile(ordered, q)), first <= high)


def per_user(user: np.ndarray, counted: np.ndarray) -> tuple[int, ...]:
    """The ``counted`` rows per user index (0 … the highest index in ``user``; -1, unknown,
    is left out): users with rows only outside ``counted`` count 0."""
    known = user >= 0
    size = int(user[known].max()) + 1 if known.any() else 0
    return tuple(int(n) for n in np.bincount(user[counted & known], minlength=size))


@dataclass(frozen=True)
class Fairness:
    """How evenly the users' completions in the window are spread."""

    users: int
    min: int
    median: float
    max: int
    cv: float  # standard deviation / mean
    idle: float  # share of users with no completion in the window
    dispersion: float  # variance / mean

    @classmethod
    def of(cls, counts: Sequence[int], users: int) -> Fairness | None:
        """From each user's completions (index 0 … ; users that never completed pad with
        zeros up to ``users``); None when there is nothing to judge."""
        found = np.zeros(max(users, len(counts)), float)
        found[: len(counts)] = counts
        mean = float(found.mean()) if len(found) else 0.0
        if mean <= 0:
            return None
        return cls(
            users=len(found),
            min=int(found.min()),
            median=float(np.median(found)),
            max=int(found.max()),
            cv=float(found.std() / mean),
            idle=float((found == 0).mean()),
            dispersion=float(found.var() / mean),
        )


def unfair(row: Any) -> bool:
    """Is a table row's per-user spread far beyond chance, with enough completions to tell?"""
    known = not _missing(row.user_dispersion)
    enough = row.requests - row.errors >= MIN_COMPLETIONS
    return known and enough and row.user_dispersion > UNFAIR_DISPERSION


def mark(value: float, censored: bool, template: str = "{:,.1f}") -> str:
    """A percentile as the tables show it: "≥ 9,812.3" when it is a lower bound."""
    return ("≥ " if censored else "") + fmt(template, value)


def in_flight_cell(row: Any) -> str:
    """ "12 (oldest 7.9 s)", "0", or "–" when the run did not record it."""
    if _missing(row.in_flight_at_end):
        return "–"
    count = int(row.in_flight_at_end)
    if not count:
        return "0"
    return f"{count} (oldest {row.oldest_in_flight_ms / 1000:,.1f} s)"


def per_user_cell(row: Any) -> str:
    """ "3 / 5 / 9, CV 0.31" (completions per user: min / median / max), or "–"."""
    if _missing(row.user_cv):
        return "–"
    return (
        f"{row.user_min:,.0f} / {row.user_median:,.0f} / {row.user_max:,.0f}, CV {row.user_cv:.2f}"
    )


def recorded(table: Any) -> bool:
    """Does any row carry the in-flight record or per-user counts (runs since they exist)?"""
    if not len(table) or "in_flight_at_end" not in table:
        return False
    return bool(table["in_flight_at_end"].notna().any() or table["user_cv"].notna().any())


def sentences(table: Any) -> list[str]:
    """What to say about tails and fairness: percentiles that are lower bounds, unfair shares."""
    said = []
    for r in table.itertuples():
        where = f"{r.scenario} / {r.endpoint} @ {arrivals.level(r)}"
        bounds = [f"p{q}" for q in (50, 90, 99) if getattr(r, f"p{q}_censored", False)]
        if bounds and not _missing(r.in_flight_at_end):
            said.append(
                f"{where}: {int(r.in_flight_at_end)} requests were still in flight when the "
                f"window ended (the oldest for {r.oldest_in_flight_ms / 1000:,.1f} s), so "
                f"{', '.join(bounds)} {'is' if len(bounds) == 1 else 'are'} only a lower bound "
                f"(p99 ≥ {fmt('{:,.1f}', r.p99_ms)} ms, censored): the slowest requests had not "
                "finished; a longer --duration shows more of the tail."
            )
        if unfair(r):
            said.append(
                f"{where} served its users unevenly: completions per user {per_user_cell(r)}, "
                f"{r.users_idle:.0%} of the users completed nothing in the window — a blocked "
                "event loop serves some connections again and again while others starve."
            )
    return said


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
