"""Rich progress for a run: overall bar by estimated time, the current measurement, live RPS."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class RichProgress:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.total_task = self.bar.add_task("run", total=1.0, status="", visible=False)
        self.current = self.bar.add_task("", total=1.0, status="", visible=False)
        self.total = 0
        self.window_s = 1.0
        self.index = 0
        self.live = False

    def __enter__(self) -> RichProgress:
        return self  # the live display starts with the run (start), after the fail-fast checks

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live:
            self.bar.__exit__(exc_type, exc, tb)

    def start(self, total: int, total_s: float) -> None:
        if not self.live:
            self.bar.__enter__()
            self.live = True
        self.total = total
        self.bar.update(
            self.total_task,
            total=total,
            completed=0,
            visible=True,
            description=f"run (~{total_s / 60:.1f} min)",
            status=f"0/{total}",
        )

    def measurement(self, index: int, title: str, seconds: float) -> None:
        self.index, self.window_s = index, seconds
        self.bar.update(
            self.current,
            description=title,
            total=seconds,
            completed=0,
            visible=True,
            status="starting",
        )

    def tick(self, elapsed_s: float, count: int, errors: int, rps: float, phase: str) -> None:
        err = f" [red]{errors} errors[/]" if errors else ""
        self.bar.update(
            self.current,
            completed=min(max(elapsed_s, 0.0), self.window_s),
            status=f"{phase}: {rps:,.0f} req/s{err}",
        )

    def done(self, title: str, rps: float, errors: int) -> None:
        self.bar.update(self.total_task, completed=self.index, status=f"{self.index}/{self.total}")
        err = f", [red]{errors} errors[/]" if errors else ""
        self.bar.console.print(f"  {title}: [bold]{rps:,.1f}[/] req/s{err}")

    def note(self, text: str) -> None:
        self.bar.console.print(f"  {text}")
