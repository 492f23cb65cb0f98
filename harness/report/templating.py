"""The one Jinja2 environment of the reports: templates beside this module, autoescaped, strict
about undefined names, with the number formats every page shares."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from harness.analysis.formatting import fmt, times

TEMPLATES = Path(__file__).resolve().parent / "templates"


def inline_code(text: str) -> Markup:
    """Escape, then show `backticked` words as code (the claims are written that way)."""
    escaped = str(escape(text))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    env.filters["code"] = inline_code
    env.globals.update(
        ms=lambda v: fmt("{:,.1f}", v),
        pct=lambda v: fmt("{:.0%}", v),
        num=lambda v: fmt("{:,.0f}", v),
        rps=lambda v: fmt("{:,.1f}", v),
        ratio=lambda v: fmt("{:.2f}", v),
        times=times,
    )
    return env
