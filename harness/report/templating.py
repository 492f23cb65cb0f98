"""The one Jinja2 environment of the reports: templates beside this module, autoescaped, strict
about undefined names, with the number formats every page shares."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from harness.analysis import tails
from harness.analysis.formatting import fmt, times

TEMPLATES = Path(__file__).resolve().parent / "templates"


EMPHASIS = re.compile(r"(?<![\w*])\*(\S(?:[^*]*\S)?)\*(?![\w*])")  # *word*, not 2 * 40


def inline_code(text: str) -> Markup:
    """Escape, then show `backticked` words as code and *starred* ones as emphasis, as in
    summary.md (the claims are written that way)."""
    parts = str(escape(text)).split("`")
    for i, part in enumerate(parts):  # even: prose; odd: inside backticks
        if i % 2 == 0:
            parts[i] = EMPHASIS.sub(r"<em>\1</em>", part)
        elif i < len(parts) - 1:
            parts[i] = f"<code>{part}</code>"
        else:  # an unclosed backtick stays as written
            parts[i] = "`" + part
    return Markup("".join(parts))


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
        censored=tails.mark,  # "≥ 9,812.3" for a percentile that is a lower bound
        in_flight=tails.in_flight_cell,
        per_user=tails.per_user_cell,
        unfair=tails.unfair,
    )
    return env
