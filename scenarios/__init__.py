"""Scenario definitions: one TOML file per scenario or suite, loaded into frozen dataclasses."""

from scenarios.loader import available, load_file, resolve
from scenarios.model import Endpoint, Scenario, Suite

__all__ = ["Endpoint", "Scenario", "Suite", "available", "load_file", "resolve"]
