"""The one error of the scenario package: a scenario or suite that cannot be used."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario or suite that cannot be used; the message names the field."""
