"""The commands of ``bench``, one module each; ``bench.py`` puts them on one Typer app.

Each command imports its wing when it runs, not at import: `bench report` need not load the
measuring side (SQLAlchemy, drivers, httpx), nor `bench run --help` the plotting side.
"""
