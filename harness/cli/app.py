"""The Typer app of ``bench`` and its one-line errors: every user error is one line on stderr
and a non-zero exit (2 for bad input, 130 for Ctrl-C), never a traceback."""

from __future__ import annotations

import sys
from typing import Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from harness.errors import BenchError
from scenarios.model import ScenarioError
from target_app.secrets import mask_secrets

try:  # recent typer vendors click as typer._click: its exceptions are not click's
    from typer._click import exceptions as _typer_click
except ImportError:  # older typer raises click's own exceptions
    _typer_click = click.exceptions  # type: ignore[misc]
_USAGE_ERRORS = (click.UsageError, _typer_click.UsageError)
_NO_ARGS_HELP = tuple(
    m.NoArgsIsHelpError for m in (click.exceptions, _typer_click) if hasattr(m, "NoArgsIsHelpError")
)

console = Console(stderr=True, highlight=False)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


class OneLineErrors(TyperGroup):
    """Turn click usage errors and BenchErrors into ``error: …`` on one line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except _NO_ARGS_HELP as exc:  # `bench` alone: the help, as click would show it
            typer.echo(exc.format_message(), err=True)
            sys.exit(2)
        except _USAGE_ERRORS as exc:
            hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
            _fail(f"{exc.format_message()}{hint}", 2)
        except (BenchError, ScenarioError) as exc:
            _fail(str(exc), getattr(exc, "exit_code", 2))
        except (click.exceptions.Abort, typer.Abort):
            _fail("aborted", 130)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        if isinstance(result, int) and result:
            sys.exit(result)
        return result


def _fail(message: str, code: int) -> None:
    line = mask_secrets(" ".join(message.split()))
    # the message is the user's text (paths, scenario names, values): printed as written, never
    # as rich markup or emoji codes ("[x]" would vanish, ":name:" turn into a picture)
    console.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True, emoji=False)
    sys.exit(code)


app = typer.Typer(
    cls=OneLineErrors,
    help="Benchmark sync vs async FastAPI endpoints with Locust; versioned results, HTML report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help wraps the descriptions and keeps every option name whole at 80 columns
    # (rich's boxed panels truncated "--threadpool-tokens" there)
    rich_markup_mode=None,
)
