"""The calibration a run measures first: the baseline's hello pair, briefly, for the capacity
model's CPU ceiling and per-request overhead on this machine, today; one per server shape the run
serves (two workers have another ceiling than one), unless the run measures the baseline with
that shape itself."""

from __future__ import annotations

from dataclasses import replace

from scenarios import Scenario, resolve
from scenarios.shape import DIMENSIONS, Matrix, ServerShape


def calibrations(scenarios: list[Scenario]) -> list[Scenario]:
    """A calibration per server shape measured (``calibration``, ``calibration-w2``…), unless
    the run measures the baseline with that shape itself."""
    shapes: list[ServerShape] = []
    for s in scenarios:
        if s.server not in shapes:
            shapes.append(s.server)
    measured = {s.server for s in scenarios if s.base_name == "baseline"}
    wanted = [shape for shape in shapes if shape not in measured]
    if not wanted:
        return []
    one = calibration(scenarios)
    if len(wanted) == 1 and wanted[0].is_default:
        return [one]
    matrix = Matrix({d: tuple(dict.fromkeys(getattr(w, d) for w in wanted)) for d in DIMENSIONS})
    named = [
        replace(one, name=f"calibration-{matrix.suffix(w)}" if matrix.varying else "calibration")
        for w in wanted
    ]
    return [
        replace(s, base="calibration" if s.name != "calibration" else "", matrix=Matrix.single(w))
        for s, w in zip(named, wanted, strict=True)
    ]


def calibration(scenarios: list[Scenario]) -> Scenario:
    """A short baseline (sync and async hello) measured first when a run lacks one: it gives the
    capacity model the app's CPU ceiling and per-request overhead on this machine, today."""
    _, (baseline,) = resolve("baseline")
    settings = {}
    for s in scenarios:  # the same thread pool as the measured scenarios
        settings.update({k: v for k, v in s.settings.items() if k == "threadpool_tokens"})
    short = baseline.with_overrides(
        users=(50,), duration_s=3.0, warmup_s=1.0, repeat=1, settings=settings
    )
    return replace(
        short,
        name="calibration",
        description="Calibration: the baseline measured briefly, for the capacity model",
    )
