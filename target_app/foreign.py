"""A user's own ASGI app (``bench run --app module:attr``), loaded and instrumented unchanged.

The harness serves ``instrumented_from_env`` with uvicorn (``--factory``); what to load comes in
``BENCH_APP_*`` variables. Loading fails with one line (``AppLoadError``): the module is not
importable, the attribute is missing, it is not an ASGI app, or its factory raised. Served by
the harness, that line is the last one the process writes before it exits with
``LOAD_ERROR_EXIT``, and the harness shows it as the run's error.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from target_app.instrumentation import Signals, instrument

ENV_APP = "BENCH_APP_SPEC"
ENV_FACTORY = "BENCH_APP_FACTORY"
ENV_APP_DIR = "BENCH_APP_DIR"
LOAD_ERROR_PREFIX = "bench: cannot load the app: "
LOAD_ERROR_EXIT = 3


class AppLoadError(Exception):
    """The app named by ``--app`` cannot be served; the message is one line."""


@dataclass(frozen=True)
class AppSpec:
    """``package.module:attr``, whether ``attr`` is a factory, and a folder for ``sys.path``."""

    spec: str
    factory: bool = False
    app_dir: str = ""

    def __post_init__(self) -> None:
        module, sep, attr = self.spec.partition(":")
        names = [*module.split("."), *attr.split(".")]
        if not sep or not all(part.isidentifier() for part in names):
            raise AppLoadError(f"{self.spec!r} is not module:attribute (e.g. mypackage.main:app)")

    @property
    def module(self) -> str:
        return self.spec.partition(":")[0]

    @property
    def attribute(self) -> str:
        return self.spec.partition(":")[2]

    def to_env(self) -> dict[str, str]:
        return {
            ENV_APP: self.spec,
            ENV_FACTORY: "1" if self.factory else "",
            ENV_APP_DIR: self.app_dir,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AppSpec:
        return cls(
            spec=environ.get(ENV_APP, ""),
            factory=bool(environ.get(ENV_FACTORY)),
            app_dir=environ.get(ENV_APP_DIR, ""),
        )


def is_asgi(app: object) -> bool:
    """An ASGI 3 application: an async callable (a function or an object's ``__call__``)."""
    if inspect.iscoroutinefunction(app):
        return True
    call = getattr(app, "__call__", None)  # noqa: B004 (classes and instances alike)
    return not inspect.isclass(app) and inspect.iscoroutinefunction(call)


def load(spec: AppSpec) -> Any:
    """Import the module, get the attribute, call the factory: the user's ASGI app."""
    target = _attribute(_import(spec), spec)
    if spec.factory:
        if not callable(target):
            raise AppLoadError(f"{spec.spec} is not callable, so it is not a factory")
        try:
            target = target()
        except Exception as exc:
            raise AppLoadError(f"the factory {spec.spec} raised: {_last_line(exc)}") from None
    if not is_asgi(target):
        if callable(target) and not spec.factory:
            raise AppLoadError(f"{spec.spec} is not an ASGI app; if it builds one, add --factory")
        raise AppLoadError(f"{spec.spec} is not an ASGI app (got {type(target).__name__})")
    return target


def _import(spec: AppSpec) -> Any:
    if spec.app_dir:
        folder = Path(spec.app_dir)
        if not folder.is_dir():
            raise AppLoadError(f"--app-dir {spec.app_dir}: no such folder")
        sys.path.insert(0, str(folder.resolve()))
    try:
        return importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        if exc.name and (spec.module + ".").startswith(exc.name + "."):  # it, or its package
            raise AppLoadError(
                f"no module named {spec.module!r} (run from its folder or pass --app-dir)"
            ) from None
        raise AppLoadError(f"importing {spec.module} failed: {_last_line(exc)}") from None
    except Exception as exc:
        raise AppLoadError(f"importing {spec.module} failed: {_last_line(exc)}") from None


def _attribute(module: Any, spec: AppSpec) -> Any:
    target = module
    for part in spec.attribute.split("."):
        if not hasattr(target, part):
            raise AppLoadError(f"module {spec.module!r} has no attribute {spec.attribute!r}")
        target = getattr(target, part)
    return target


def _last_line(exc: BaseException) -> str:
    """The last line of the exception's traceback: ``ValueError: no DATABASE_URL``."""
    lines = traceback.format_exception_only(type(exc), exc)
    return " ".join(lines[-1].split()) if lines else type(exc).__name__


def describe(spec: AppSpec, app: Any) -> dict[str, Any]:
    """What ``/_bench/info`` adds for a foreign app: where it came from."""
    return {
        "app": {
            "spec": spec.spec,
            "factory": spec.factory,
            "app_dir": spec.app_dir,
            "type": f"{type(app).__module__}.{type(app).__qualname__}",
        }
    }


def instrumented_from_env() -> Any:
    """uvicorn's factory: load ``BENCH_APP_SPEC`` and wrap it; a failure is one line, then exit."""
    try:
        spec = AppSpec.from_env(os.environ)
        app = load(spec)
    except AppLoadError as exc:
        print(f"{LOAD_ERROR_PREFIX}{exc}", file=sys.stderr, flush=True)
        raise SystemExit(LOAD_ERROR_EXIT) from None
    if isinstance(getattr(getattr(app, "state", None), "signals", None), Signals):
        return app  # it serves the instrumentation already (install_instrumentation)
    return instrument(app, info=lambda: describe(spec, app))
