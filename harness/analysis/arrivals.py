"""The open model's words: offered against achieved rate, and overload said as such.

A row measured at an offered rate (``rate`` > 0, see ``tables.overload``) is steady when the
server kept up: its percentiles, from the intended send times, are values. Above the knee it is
not: the queue grows for as long as the window lasts, so a percentile only says how long the
window was; such a row is shown as "overloaded: the queue grew by X requests/s" instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

SERVICE_PERCENTILES = (50, 99)
LATE_SHARE = 0.01  # the generator's late sends are worth a line above 1 % of the requests


def is_open(row: Any) -> bool:
    return float(getattr(row, "rate", 0.0) or 0.0) > 0


def open_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows measured at an offered rate (none in a run without the open model)."""
    if not len(table) or "rate" not in table.columns:
        return table.iloc[0:0]
    return table[table["rate"] > 0]


def level(row: Any) -> str:
    """ "100 users" or "400 req/s offered": where a row was measured."""
    return f"{row.rate:,g} req/s offered" if is_open(row) else f"{row.users} users"


def state(row: Any) -> str:
    """ "steady", or "overloaded: the queue grew by 180 requests/s" (offered − achieved; when
    the server kept the rate but latency still climbed, by how much over the window)."""
    if not bool(getattr(row, "overloaded", False)):
        return "steady"
    if row.queue_growth >= 0.5:
        return f"overloaded: the queue grew by {row.queue_growth:,.0f} requests/s"
    growth = float(getattr(row, "latency_growth_ms", math.nan))
    if int(getattr(row, "dropped", 0)):
        return f"overloaded: {int(row.dropped):,} sends dropped at the in-flight cap"
    return f"overloaded: latency grew by {growth:,.0f} ms over the window"


def percentile_cell(row: Any, value: float) -> str:
    """A latency percentile, or "growing" for an overloaded row (no steady value)."""
    if bool(getattr(row, "overloaded", False)):
        return f"≥ {value:,.1f} (growing)" if not math.isnan(value) else "growing"
    return "n/a" if math.isnan(value) else f"{value:,.1f}"


def ms(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.1f}"


def sentences(table: pd.DataFrame) -> list[str]:
    """One line per overloaded row, and per row whose generator was late or dropped sends."""
    said = []
    for r in open_rows(table).itertuples():
        where = f"{r.scenario} / {r.endpoint} @ {level(r)}"
        if r.overloaded:
            said.append(
                f"{where}: {state(r)} (achieved {r.rps:,.1f} of {r.rate:,g} req/s): its latency "
                "percentiles grow with the window's length, not a steady value"
            )
        if r.dropped or r.late > LATE_SHARE * max(r.requests, 1):
            said.append(
                f"{where}: the schedule sent {int(r.late):,} requests more than 10 ms late and "
                f"dropped {int(r.dropped):,} at the in-flight cap (their latency counts from "
                "the intended send time)"
            )
    return said


def knee_sentences(table: pd.DataFrame, scenario: str) -> list[str]:
    """One line per endpoint measured at rates: its knee (the capacity model's maximum at the
    in-flight cap, and what caps it) and what it served at each offered rate."""
    rows = open_rows(table)
    if not len(rows):  # none at rates (or no measurement at all: a run killed early)
        return []
    rows = rows[rows["scenario"] == scenario]
    out = []
    for label in dict.fromkeys(rows["endpoint"]):
        mine = rows[rows["endpoint"] == label].sort_values("rate")
        first = mine.iloc[0]
        knee = float(first["knee_rps"])
        said = (
            f"the knee (capacity model) is {knee:,.0f} req/s ({first['binding']})"
            if not math.isnan(knee)
            else "no knee (no capacity model)"
        )
        served = ", ".join(
            f"{r.rate:,g} → {r.rps:,.0f}" + (" (overloaded)" if r.overloaded else "")
            for r in mine.itertuples()
        )
        out.append(f"{label}: {said}; offered → served req/s: {served}")
    return out


def in_flight_binding(binding: str, users: int) -> str:
    """The open model's cap in words: its "users" are the in-flight cap."""
    return f"in-flight cap: {users}" if binding == f"users: {users}" else binding


def service_column(frame: pd.DataFrame) -> np.ndarray | None:
    """A samples frame's ``service_ms`` as numbers (NaN where empty); None when the file has
    none or only empty ones (the closed model, files before the open model)."""
    if "service_ms" not in frame.columns or not len(frame):
        return None
    column = frame["service_ms"]
    if not pd.api.types.is_numeric_dtype(column) and column.iat[0] == "":  # closed: all empty
        return None
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    return None if np.isnan(values).all() else values


def service_and_growth(
    end: np.ndarray, latency: np.ndarray, service: np.ndarray | None, kept: np.ndarray
) -> tuple[dict[int, float], float]:
    """The service-time percentiles of the ``kept`` samples, and the least-squares slope of
    their latency (from the intended send) against their completion time, in ms per second: a
    queue that keeps growing makes it positive and large. ({}, NaN) in the closed model."""
    if service is None:
        return {}, np.nan
    mine = service[kept]
    mine = mine[~np.isnan(mine)]
    found = {q: float(np.percentile(mine, q)) if len(mine) else np.nan for q in SERVICE_PERCENTILES}
    end, latency = end[kept], latency[kept]
    if len(end) < 3 or np.ptp(end) <= 0:
        return found, np.nan
    return found, float(np.polyfit(end - end[0], latency, 1)[0])
