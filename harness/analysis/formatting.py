"""Numbers as the report's words show them: a missing value is a dash, never "nan"."""

from __future__ import annotations

import math
from typing import Any


def fmt(template: str, value: Any) -> str:
    """``template.format(value)``, or "–" when there is no value (None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return template.format(value)


def times(value: Any) -> str:
    """A ratio as "61×", "5.0×" or "0.054×" (two significant figures below 10)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.0f}×" if value >= 10 else f"{value:.2g}×"
