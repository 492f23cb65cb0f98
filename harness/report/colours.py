"""One colour per endpoint, the same on every chart and table of a report.

Sync blue, async green, pitfall red, fixed purple, anti-pattern orange; a second or third
endpoint of one variant gets a lighter shade of its colour.
"""

from __future__ import annotations

import pandas as pd

VARIANT_COLOURS = {
    "sync": "#2f6db5",
    "async": "#2e9e57",
    "pitfall": "#d1453b",
    "fixed": "#7b5cb8",
    "antipattern": "#e08a1e",
}
OTHER = "#777777"


def _shade(hex_colour: str, index: int) -> str:
    """The ``index``-th shade of a colour: 0 is the colour, each next one lighter (≤ 55 %)."""
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    mix = min(0.55, 0.28 * index) if index else 0.0
    return "#" + "".join(f"{round((c + (1 - c) * mix) * 255):02x}" for c in rgb)


def palette(endpoints: pd.DataFrame) -> dict[str, str]:
    """Endpoint label → colour, from a frame with ``endpoint`` and ``variant`` columns."""
    colours: dict[str, str] = {}
    seen: dict[str, int] = {}
    pairs = endpoints[["endpoint", "variant"]].drop_duplicates().itertuples(index=False)
    for label, variant in pairs:
        index = seen.get(variant, 0)
        seen[variant] = index + 1
        colours[label] = _shade(VARIANT_COLOURS.get(variant, OTHER), index)
    return colours
