"""What each PNG of a run looks like: matplotlib drawings of small, ready-made data.

Every function here takes its data (a table slice, a ``Timeline``, ``Signals``) and a file, and
reads nothing else, so it can run in a worker process; ``harness/report/drawing.py`` gathers the
data and runs the pool. Colours come from ``harness/report/colours.py``: the same endpoint has
the same colour on every chart and in the page's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness.report.colours import palette  # noqa: E402

DPI = 110
KNEE_SPAN = 3.0  # the open model's knee is drawn when within 3× the highest offered rate
# Figures are made at the resolution they are saved at (``dpi=DPI`` in every ``subplots``), so
# the text laid out for tight_layout is the text drawn into the PNG: at another dpi matplotlib
# lays every label out twice.


def _figure(*args: Any, **kwargs: Any) -> Any:
    """``plt.subplots`` at the saving resolution."""
    return plt.subplots(*args, dpi=DPI, **kwargs)


def _save(fig: plt.Figure, path: Path) -> Path:
    """Lay the figure out once, then draw it once into the PNG.

    ``tight_layout`` leaves a placeholder layout engine on the figure, and ``savefig`` draws a
    figure that has any layout engine twice (a first, unrendered pass to lay it out again):
    removing the engine once the layout is done makes the PNG the figure's only drawing, the
    same pixels in about 10 % less drawing time."""
    fig.tight_layout()
    fig.set_layout_engine(None)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def rps_bars(table: pd.DataFrame, scenario: str, out: Path) -> Path:
    """Grouped bars: users level on x, one bar per endpoint, error bars min–max over repeats."""
    data = table[table["scenario"] == scenario]
    colours = palette(data)
    endpoints = list(colours)
    levels = sorted(data["users"].unique())
    fig, ax = _figure(figsize=(max(6.0, 1.6 + 1.1 * len(levels) * len(endpoints) / 2), 4.2))
    width = 0.8 / max(1, len(endpoints))
    x = np.arange(len(levels))
    for i, label in enumerate(endpoints):
        rows = data[data["endpoint"] == label].set_index("users").reindex(levels)
        heights = rows["rps"].to_numpy(dtype=float)
        err = np.vstack(
            [heights - rows["rps_min"].to_numpy(float), rows["rps_max"].to_numpy(float) - heights]
        )
        pos = x - 0.4 + width * (i + 0.5)
        bars = ax.bar(
            pos,
            heights,
            width,
            color=colours[label],
            label=label,
            yerr=np.nan_to_num(err),
            capsize=3,
            ecolor="#333333",
        )
        for bar, value in zip(bars, heights, strict=True):
            if np.isfinite(value):
                ax.annotate(
                    f"{value:,.0f}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
    repeats = int(data["repeats"].max()) if len(data) else 0
    ax.set_title(f"{scenario}: throughput (median of {repeats} repeat(s), bars min–max)")
    ax.set_xlabel("concurrent users")
    ax.set_ylabel("successful requests / s")
    ax.set_xticks(x, [str(v) for v in levels])
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, out)


def latency_bars(table: pd.DataFrame, scenario: str, out: Path) -> Path:
    """p50 / p90 / p99 per endpoint, one panel per users level (log scale when spread is wide)."""
    data = table[table["scenario"] == scenario]
    colours = palette(data)
    levels = sorted(data["users"].unique())
    fig, axes = _figure(
        1, len(levels), figsize=(max(6.0, 3.2 * len(levels)), 4.2), squeeze=False, sharey=True
    )
    values = data[["p50_ms", "p90_ms", "p99_ms"]].to_numpy(float)
    finite = values[np.isfinite(values) & (values > 0)]
    log = finite.size > 0 and finite.max() / max(finite.min(), 1e-3) > 50
    for ax, users in zip(axes[0], levels, strict=True):
        rows = data[data["users"] == users]
        x = np.arange(len(rows))
        for j, (pct, alpha) in enumerate((("p50_ms", 1.0), ("p90_ms", 0.7), ("p99_ms", 0.45))):
            ax.bar(
                x - 0.27 + 0.27 * j,
                rows[pct],
                0.26,
                alpha=alpha,
                color=[colours[e] for e in rows["endpoint"]],
                label=pct.split("_")[0],
            )
        ax.set_xticks(x, rows["endpoint"], rotation=20, ha="right", fontsize=8)
        ax.set_title(f"{users} users", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        if log:
            ax.set_yscale("log")
    axes[0][0].set_ylabel("latency (ms)" + (", log scale" if log else ""))
    handles = [plt.Rectangle((0, 0), 1, 1, color="#555555", alpha=a) for a in (1.0, 0.7, 0.45)]
    axes[0][-1].legend(handles, ["p50", "p90", "p99"], fontsize=8, loc="upper left")
    fig.suptitle(f"{scenario}: latency percentiles from raw samples (bars: p50, p90, p99)")
    return _save(fig, out)


@dataclass(frozen=True)
class Line:
    """One endpoint's series on a time chart (x: seconds from the start of the window)."""

    label: str
    colour: str
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Timeline:
    scenario: str
    users: int
    warmup_s: float
    lines: list[Line]
    level: str = ""  # "50 users" or "800 req/s offered" ("": "<users> users")


@dataclass(frozen=True)
class Signals:
    scenario: str
    users: int
    lag: list[Line]
    busy: list[Line]
    cpu: list[Line]
    level: str = ""  # as ``Timeline.level``
    workers: int = 1  # several: tokens and CPU are summed over them, the lag is the worst


def timeline(data: Timeline, out: Path) -> Path:
    """Successful requests per second over time at the highest users level (first repeat)."""
    fig, ax = _figure(figsize=(7.5, 4.0))
    for line in data.lines:
        ax.plot(line.x, line.y, marker=".", color=line.colour, label=line.label)
    if data.warmup_s:
        ax.axvspan(-data.warmup_s, 0, color="#999999", alpha=0.15, label="warm-up (not measured)")
    level = data.level or f"{data.users} users"
    ax.set_title(f"{data.scenario}: throughput over time at {level} (1 s bins)")
    ax.set_xlabel("time from start of the measured window (s)")
    ax.set_ylabel("successful requests / s")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, out)


def signals(data: Signals, out: Path) -> Path:
    """Server-side signals over time at the highest users level (first repeat): event-loop lag,
    thread-pool tokens in use, app CPU — the evidence of *why* throughput is what it is."""
    fig, axes = _figure(1, 3, figsize=(12, 3.6))
    for ax, lines in zip(axes, (data.lag, data.busy, data.cpu), strict=True):
        for line in lines:
            ax.plot(line.x, line.y, color=line.colour, label=line.label, marker=".")
    titles = ("event-loop lag (max per 0.5 s)", "thread-pool tokens in use (max)", "app CPU")
    if data.workers > 1:
        n = data.workers
        titles = (
            f"event-loop lag (worst of {n} workers)",
            f"tokens in use (sum of {n} workers)",
            f"app CPU (sum of {n} workers)",
        )
    ylabels = ("lag (ms)", "tokens", "CPU (% of one core)")
    for ax, title, ylabel in zip(axes, titles, ylabels, strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("time from start of the measured window (s)")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{data.scenario}: server-side signals at {data.level or f'{data.users} users'}")
    return _save(fig, out)


def sweep(table: pd.DataFrame, scenario: str, out: Path) -> Path | None:
    """RPS and latency against users, with the capacity model's prediction as dashed lines;
    drawn when the scenario measured at least two users levels. ``table`` carries predictions."""
    data = table[table["scenario"] == scenario]
    if data["users"].nunique() < 2:
        return None
    colours = palette(data)
    fig, (left, right) = _figure(1, 2, figsize=(12, 4.2))
    for label, colour in colours.items():
        rows = data[data["endpoint"] == label].sort_values("users")
        left.plot(rows["users"], rows["rps"], marker="o", color=colour, label=label)
        if "predicted_rps" in rows and rows["predicted_rps"].notna().any():
            left.plot(
                rows["users"],
                rows["predicted_rps"],
                linestyle="--",
                color=colour,
                alpha=0.7,
                label=f"{label} (predicted)",
            )
        right.plot(rows["users"], rows["p50_ms"], marker="o", color=colour, label=f"{label} p50")
        right.plot(
            rows["users"],
            rows["p99_ms"],
            marker="^",
            linestyle=":",
            color=colour,
            label=f"{label} p99",
        )
    left.set_title(f"{scenario}: throughput vs users (dashed: Little's-law prediction)")
    left.set_ylabel("successful requests / s")
    right.set_title(f"{scenario}: latency vs users")
    right.set_ylabel("latency (ms)")
    values = data[["p50_ms", "p99_ms"]].to_numpy(float)
    finite = values[np.isfinite(values) & (values > 0)]
    if finite.size and finite.max() / max(finite.min(), 1e-3) > 50:
        right.set_yscale("log")
        right.set_ylabel("latency (ms), log scale")
    for ax in (left, right):
        ax.set_xlabel("concurrent users")
        ax.set_xscale("log")
        levels = sorted(data["users"].unique())
        ax.set_xticks(levels, [str(v) for v in levels])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    left.set_ylim(bottom=0)
    return _save(fig, out)


def load_curve(table: pd.DataFrame, scenario: str, out: Path) -> Path | None:
    """The open model: latency (p50, p99 from the intended send; dashed, the service p50)
    against the offered rate, one panel per endpoint side by side, with the capacity model's
    knee (its predicted maximum throughput) as a vertical line; an overloaded level (its queue
    grew all through the window) is circled in red: its percentiles only grow with the window.
    Drawn when the scenario measured at least one rate."""
    data = table[(table["scenario"] == scenario) & (table["rate"] > 0)]
    if not len(data):
        return None
    colours = palette(data)
    fig, axes = _figure(
        1, len(colours), figsize=(max(6.0, 4.2 * len(colours)), 4.2), squeeze=False, sharey=True
    )
    values = data[["p50_ms", "p99_ms"]].to_numpy(float)
    finite = values[np.isfinite(values) & (values > 0)]
    log = finite.size > 0 and finite.max() / max(finite.min(), 1e-3) > 50
    for ax, (label, colour) in zip(axes[0], colours.items(), strict=True):
        _curve(ax, data[data["endpoint"] == label].sort_values("rate"), colour)
        ax.set_title(label, fontsize=10)
        if log:
            ax.set_yscale("log")
    axes[0][0].set_ylabel("latency from the intended send (ms)" + (", log scale" if log else ""))
    fig.suptitle(f"{scenario}: latency against offered load (open model)")
    return _save(fig, out)


def _curve(ax: Any, rows: pd.DataFrame, colour: str) -> None:
    """One endpoint's panel of ``load_curve``."""
    x = rows["rate"].to_numpy(float)
    ax.plot(x, rows["p50_ms"], marker="o", color=colour, label="p50")
    ax.plot(x, rows["p99_ms"], marker="^", linestyle=":", color=colour, label="p99")
    service = rows["service_p50_ms"]
    ax.plot(x, service, linestyle="--", color=colour, alpha=0.5, label="service p50")
    over = rows[rows["overloaded"].astype(bool)]
    if len(over):
        ax.scatter(
            over["rate"],
            over["p99_ms"],
            s=140,
            facecolors="none",
            edgecolors="#c0392b",
            linewidths=1.5,
            label="overloaded (growing)",
        )
    knee = rows["knee_rps"].dropna()
    right = float(x.max()) * 1.1
    at = float(knee.iloc[0]) if len(knee) else np.nan
    if np.isfinite(at) and 0 < at <= KNEE_SPAN * right:
        ax.axvline(at, color="#555555", linestyle="-.", alpha=0.8, label=f"knee: {at:,.0f} req/s")
        right = max(right, at * 1.1)
    elif np.isfinite(at) and at > 0:  # far beyond the offered rates: said, not drawn
        ax.annotate(f"knee: {at:,.0f} req/s →", (0.98, 0.02), xycoords="axes fraction",
                    ha="right", fontsize=8, color="#555555")  # fmt: skip
    ax.set_xlim(0, right)
    ax.set_xlabel("offered load (requests / s)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
