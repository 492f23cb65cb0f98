"""`bench scan`: an app's routes and blocking suspects, and a starter scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import out


def scan_command(
    spec: Annotated[
        str, typer.Argument(metavar="MODULE:ATTR", help="your app, e.g. myapp.main:app")
    ],
    factory: Annotated[
        bool, typer.Option(help="MODULE:ATTR is a function returning the app")
    ] = False,
    app_dir: Annotated[
        str | None, typer.Option(metavar="DIR", help="folder to import the app from")
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY=VALUE", help="environment variable set before the import"),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="starter scenario (default scan-MODULE.toml)"),
    ] = None,
    force: Annotated[bool, typer.Option(help="overwrite the starter scenario file")] = False,
) -> None:
    """List every route of your app (def or async def, its dependencies), the blocking calls
    found in async code (ruff's ASYNC rules and the harness's own), and write a starter
    scenario for the GET routes."""
    from harness.measure.request import OptionError, parse_params
    from harness.scan.scanner import routes_table, scan, suspects_table
    from harness.scan.starter import write
    from target_app.foreign import AppLoadError, AppSpec

    variables = {k: str(v) for k, v in parse_params(env or (), "--env").items()}
    if app_dir is not None and not Path(app_dir).is_dir():
        raise OptionError("--app-dir", f"{app_dir}: no such folder", "bench scan")
    try:
        app_spec = AppSpec(spec, factory, str(Path(app_dir).resolve()) if app_dir else "")
    except AppLoadError as exc:
        raise OptionError("MODULE:ATTR", str(exc), "bench scan") from None
    target = out_file or Path(f"scan-{app_spec.module.replace('.', '-')}.toml")
    if target.exists() and not force:
        raise OptionError("--out", f"{target} exists: pass --force to overwrite it", "bench scan")
    found = scan(app_spec, variables, target)
    out.print(routes_table(found))
    if found.suspects:
        out.print(f"\nsuspects: {len(found.suspects)} blocking call(s) in async code")
        out.print(suspects_table(found))
    else:
        out.print("\nsuspects: none found in async code (ruff ASYNC rules and the harness's own)")
    written = write(target, found.scenario, force)
    out.print(f"starter scenario: {written}", soft_wrap=True, markup=False, emoji=False)
