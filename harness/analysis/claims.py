"""Common tutorial claims, checked against this run's own measurements.

Each claim finds the endpoints it needs by path (``/sync/sleep``…), so it works on any run that
measured them; a claim whose endpoints were not measured says "not measured". A verdict is one
of "true", "false", "partly", "no significant difference", "not measured" or "not measured
cleanly" (more than 1 % of its requests failed: no verdict from broken data), with the figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis import stats
from harness.results import Run

Bins = dict[tuple[str, str, int], np.ndarray]
MAX_ERROR_RATE = 0.01  # above it, a measurement settles no claim


@dataclass(frozen=True)
class Verdict:
    claim: str
    verdict: str
    evidence: str


class Facts:
    """Lookups over one run: rows by endpoint path, their bins, the scenario parameters."""

    def __init__(self, run: Run, table: pd.DataFrame, bins: Bins) -> None:
        self.run, self.bins = run, bins
        paths = {(m.scenario, m.endpoint): m.path.split("?")[0] for m in run.measurements}
        if table.empty:  # a run stopped before its first measurement: every claim unmeasured
            table = pd.DataFrame(columns=["scenario", "endpoint", "users", "error_rate"])
        routed = table.assign(
            route=[paths.get((r.scenario, r.endpoint), "") for r in table.itertuples()]
        )
        broken = routed["error_rate"] > MAX_ERROR_RATE
        # no verdict is drawn from a measurement with more errors than that: it is left out
        self.unclean = routed[broken].groupby("route")["error_rate"].max().to_dict()
        self.table = routed[~broken]

    def missing(self, claim: str, *routes: str) -> Verdict:
        """The verdict when a route is not in the clean table: broken, or not measured."""
        for route in routes:
            if route in self.unclean and self.rows(route).empty:
                rate = self.unclean[route]
                return Verdict(
                    claim,
                    "not measured cleanly",
                    f"{route} failed {rate:.1%} of its requests (more than "
                    f"{MAX_ERROR_RATE:.0%}): no verdict is drawn from broken measurements",
                )
        return Verdict(claim, "not measured", f"this run did not measure {' and '.join(routes)}")

    def rows(self, route: str) -> pd.DataFrame:
        return self.table[self.table["route"] == route]

    def pair(self, a: str, b: str, top: bool = True) -> tuple[Any, Any] | None:
        """The rows of routes a and b at the highest (or lowest) users level both have,
        from the same scenario."""
        ra, rb = self.rows(a), self.rows(b)
        for scenario in dict.fromkeys(ra["scenario"]):
            sa, sb = ra[ra["scenario"] == scenario], rb[rb["scenario"] == scenario]
            levels = sorted(set(sa["users"]) & set(sb["users"]))
            if levels:
                users = levels[-1] if top else levels[0]
                return (sa[sa["users"] == users].iloc[0], sb[sb["users"] == users].iloc[0])
        return None

    def compare(self, a: Any, b: Any) -> stats.Comparison:
        xa = self.bins.get((a["scenario"], a["endpoint"], int(a["users"])), np.array([]))
        xb = self.bins.get((b["scenario"], b["endpoint"], int(b["users"])), np.array([]))
        return stats.compare_bins(a["endpoint"], xa, b["endpoint"], xb)

    def top(self, route: str, default_ms: float) -> tuple[Any, float, float] | None:
        """The route's row at its highest users level, the wait ``ms`` of its scenario and the
        rate one-at-a-time would allow (1000 / ms); None when it was not measured."""
        rows = self.rows(route)
        if rows.empty:
            return None
        row = rows.sort_values("users").iloc[-1]
        ms = self.parameter(row["scenario"], "ms", default_ms)
        return row, ms, 1000.0 / ms

    def versions(self, scenario: str) -> dict[str, str]:
        """The HTTP clients' versions the app reported (``extra.http.versions``)."""
        for record in self.run.scenarios:
            if record["name"] == scenario:
                found = record.get("app", {}).get("extra", {}).get("http", {}).get("versions")
                return dict(found or {})
        return {}

    def parameter(self, scenario: str, name: str, default: float) -> float:
        for record in self.run.scenarios:
            if record["name"] == scenario:
                return float(record.get("parameters", {}).get(name, default))
        return default


def _ratio_claim(
    claim: str,
    f: Facts,
    a: Any,
    b: Any,
    why_false: str = "",
    extra: str = "",
) -> Verdict:
    """A claim that holds when ``a`` serves more than ``b``: ratio, significance, verdict."""
    result = f.compare(a, b)
    if not result.significant:
        return Verdict(claim, "no significant difference", result.verdict() + extra)
    holds = result.ratio.estimate > 1
    why = "" if holds else why_false
    return Verdict(
        claim, "true" if holds else "false", f"{result.verdict()} at {a['users']} users{why}{extra}"
    )


def def_blocks_server(f: Facts) -> Verdict:
    claim = "`def` endpoints block the server"
    found = f.top("/sync/sleep", 100)
    if found is None:
        return f.missing(claim, "/sync/sleep")
    row, ms, one_at_a_time = found
    evidence = (
        f"`def` sleep served {row['rps']:,.0f} RPS at {row['users']} users, "
        f"{row['rps'] / one_at_a_time:.0f}× what one-at-a-time would allow "
        f"({one_at_a_time:,.0f} RPS): it runs in the thread pool, "
        "up to its tokens at once"
    )
    pitfall = f.rows("/pitfall/sleep")
    if len(pitfall):
        worst = pitfall["rps"].max()
        evidence += f"; only blocking code *inside* `async def` serializes ({worst:,.1f} RPS)"
    verdict = "false" if row["rps"] > 3 * one_at_a_time else "true"
    return Verdict(claim, verdict, evidence)


def def_faster_without_await(f: Facts) -> Verdict:
    claim = "if nothing is awaited, `def` is faster than `async def`"
    pair = f.pair("/sync/hello", "/async/hello")
    if pair is None:
        return f.missing(claim, "/sync/hello", "/async/hello")
    sync, async_ = pair
    return _ratio_claim(
        claim, f, sync, async_, why_false=" — `def` pays a thread-pool hop per request"
    )


def sleep_blocks_everything(f: Facts) -> Verdict:
    claim = "`time.sleep` in `async def` blocks every request"
    found = f.top("/pitfall/sleep", 100)
    if found is None:
        return f.missing(claim, "/pitfall/sleep")
    row, ms, ceiling = found
    lag = row.get("loop_lag_max_ms", float("nan"))
    evidence = (
        f"{row['rps']:,.1f} RPS at {row['users']} users ≈ one request at a time "
        f"(1 / {ms / 1000:g} s = {ceiling:,.0f} RPS); p50 {row['p50_ms']:,.0f} ms; "
        f"event-loop lag up to {lag:,.0f} ms"
    )
    return Verdict(claim, "true" if row["rps"] <= 1.5 * ceiling else "false", evidence)


def websocket_sleep_blocks(f: Facts) -> Verdict:
    claim = "`time.sleep` in an `async def` WebSocket handler stalls every connection"
    found = f.top("/ws/pitfall/echo", 10)
    if found is None:
        return f.missing(claim, "/ws/pitfall/echo")
    row, ms, ceiling = found
    evidence = (
        f"{row['rps']:,.1f} messages/s over {row['users']} connections ≈ one message at a time "
        f"(1 / {ms / 1000:g} s = {ceiling:,.0f}/s); p50 round trip {row['p50_ms']:,.0f} ms"
    )
    pair = f.pair("/ws/echo", "/ws/pitfall/echo")
    if pair is not None:
        fine, _ = pair
        evidence += f"; the same wait awaited: {fine['rps']:,.0f} messages/s at {fine['users']}"
    return Verdict(claim, "true" if row["rps"] <= 1.5 * ceiling else "false", evidence)


def gather_speedup(f: Facts) -> Verdict:
    claim = "`asyncio.gather` of 3 calls is 2-3× faster than sequential calls"
    pair = f.pair("/sync/fanout", "/async/fanout/gather", top=False)
    if pair is None:
        return f.missing(claim, "/sync/fanout", "/async/fanout/gather")
    seq, gather = pair
    n = f.parameter(seq["scenario"], "n", 3)
    factor = seq["p50_ms"] / gather["p50_ms"]
    evidence = (
        f"with {n:g} calls, p50 {seq['p50_ms']:,.0f} ms sequential (`def`) vs "
        f"{gather['p50_ms']:,.0f} ms with gather at {seq['users']} users: "
        f"{factor:.2f}× lower latency (ideal: {n:g}×)"
    )
    if n != 3:
        return Verdict(
            claim, "partly", evidence + f"; the claim is about 3 calls, this run used {n:g}"
        )
    return Verdict(claim, "true" if factor >= 2 else "false", evidence)


TAIL_WORSE = 2.0  # an async p99 this many times the sync one is part of the verdict


def async_db_throughput(f: Facts) -> Verdict:
    """Weighs every measurement that bears on it: the database *wait* (``pg_sleep``: the driver
    only waits) and the indexed *query* (rows to fetch and decode: CPU), throughput and p99."""
    claim = "an async DB driver raises throughput"
    waits = f.pair("/async/db/sleep", "/sync/db/sleep")
    queries = f.pair("/async/db/query", "/sync/db/query")
    if waits is None and queries is None:
        return f.missing(claim, "/async/db/sleep", "/sync/db/sleep")
    parts, outcomes = [], []
    for what, pair in (("waits", waits), ("queries", queries)):
        if pair is None:
            parts.append(f"{what}: not measured")
            continue
        async_, sync = pair
        result = f.compare(async_, sync)
        holds = result.significant and result.ratio.estimate > 1
        tail = _tail(async_, sync)
        outcomes.append((holds, tail >= TAIL_WORSE))
        parts.append(
            f"{what}: {result.verdict()} at {async_['users']} users{_tail_text(tail, async_, sync)}"
        )
    verdict = _weighed([h for h, _ in outcomes], any(worse for _, worse in outcomes))
    caps = ""
    if waits is not None and isinstance(waits[0].get("binding"), str):
        caps = f"; caps: async — {waits[0]['binding']}, sync — {waits[1].get('binding', '?')}"
    return Verdict(claim, verdict, "; ".join(parts) + caps)


def _tail(a: Any, b: Any) -> float:
    """How many times ``a``'s p99 is ``b``'s (NaN when either is missing)."""
    try:
        return float(a["p99_ms"]) / float(b["p99_ms"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return float("nan")


def _tail_text(tail: float, a: Any, b: Any) -> str:
    if not tail >= TAIL_WORSE:
        return ""
    return (
        f", but its p99 is {tail:.1f}× worse ({a['p99_ms']:,.0f} vs {b['p99_ms']:,.0f} ms: "
        "requests wait in the async pool's queue unevenly)"
    )


def _weighed(holds: list[bool], tail_worse: bool) -> str:
    """true only when every measurement agrees and no tail got much worse; partly when some do;
    false when none does."""
    if holds and all(holds) and not tail_worse:
        return "true"
    if any(holds):
        return "partly"
    return "false"


def httpx_is_right(f: Facts) -> Verdict:
    """httpx.AsyncClient against aiohttp, and which of its two fixes closes the gap (httpx2's
    rewritten pool, httpx-aiohttp's transport), with the versions measured."""
    claim = "`httpx.AsyncClient` is the right async client"
    pair = f.pair("/async/http/httpx", "/async/http/aiohttp")
    if pair is None:
        return f.missing(claim, "/async/http/httpx", "/async/http/aiohttp")
    httpx_row, aiohttp_row = pair
    share = httpx_row["rps"] / aiohttp_row["rps"] if aiohttp_row["rps"] else float("nan")
    versions = f.versions(httpx_row["scenario"])
    evidence = (
        f"at {httpx_row['users']} users httpx.AsyncClient ({_v(versions, 'httpx', 'httpcore')}) "
        f"served {httpx_row['rps']:,.0f} RPS = {share:.0%} of aiohttp's "
        f"{aiohttp_row['rps']:,.0f} (p99 {httpx_row['p99_ms']:,.0f} vs "
        f"{aiohttp_row['p99_ms']:,.0f} ms)"
    )
    fixes = []
    for route, name, packages in (
        ("/async/http/httpx2", "httpx2", ("httpx2", "httpcore2")),
        ("/async/http/httpx-aiohttp", "httpx-aiohttp", ("httpx-aiohttp",)),
    ):
        fixed = f.pair(route, "/async/http/aiohttp")
        if fixed is None or fixed[0]["users"] != httpx_row["users"]:
            continue
        rps = fixed[0]["rps"]
        closes = "closes the gap" if rps >= 0.9 * aiohttp_row["rps"] else "does not close it"
        fixes.append(
            f"{name} ({_v(versions, *packages)}): {rps:,.0f} RPS = "
            f"{rps / aiohttp_row['rps']:.0%} of aiohttp's, "
            f"{rps / httpx_row['rps']:.1f}× httpx's — {closes}"
            if aiohttp_row["rps"] and httpx_row["rps"]
            else f"{name}: no successful request"
        )
    if fixes:
        evidence += "; the fixes: " + "; ".join(fixes)
    return Verdict(claim, "true" if share >= 0.9 else "false", evidence)


def _v(versions: dict[str, str], *names: str) -> str:
    return " + ".join(f"{n} {versions.get(n, '?')}" for n in names)


CLAIMS: tuple[Callable[[Facts], Verdict], ...] = (
    def_blocks_server,
    def_faster_without_await,
    sleep_blocks_everything,
    websocket_sleep_blocks,
    gather_speedup,
    async_db_throughput,
    httpx_is_right,
)


def check(run: Run, table: pd.DataFrame, bins: Bins) -> list[Verdict]:
    """The claims about the bundled app's endpoints; none for a run of another app."""
    if not any(s.get("served_by", {}).get("kind", "bundled") == "bundled" for s in run.scenarios):
        return []
    facts = Facts(run, table, bins)
    return [claim(facts) for claim in CLAIMS]
