"""Rich progress display for steps and per-item work."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from clusterfolio.enums import StepStatus
from clusterfolio.pipeline.runner import StepProgress

_MARK = {
    StepStatus.COMPLETED: "[green]✓[/]",
    StepStatus.SKIPPED: "[cyan]↷[/]",
    StepStatus.FAILED: "[red]✗[/]",
}


class RichProgress(StepProgress):
    """Shows one bar for the steps and one for the items of the running step."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._steps: TaskID | None = None
        self._items: TaskID | None = None
        self._started = False

    def start_step(self, index: int, total: int, name: str) -> None:
        """Show the step bar at ``index`` of ``total``."""
        if not self._started:
            self._progress.start()
            self._started = True
        if self._steps is None:
            self._steps = self._progress.add_task("steps", total=total)
        self._progress.update(self._steps, completed=index - 1, description=f"step {name}")
        if self._items is not None:
            self._progress.remove_task(self._items)
            self._items = None

    def tick(self, label: str, done: int, total: int) -> None:
        """Advance the per-item bar."""
        if not self._started:
            return
        if self._items is None:
            self._items = self._progress.add_task(label, total=total)
        self._progress.update(self._items, completed=done, total=total, description=f"  {label}")

    def end_step(self, name: str, status: StepStatus, seconds: float) -> None:
        """Print one line per finished step."""
        if self._steps is not None:
            self._progress.advance(self._steps)
        self._progress.console.print(
            f"{_MARK.get(status, ' ')} {name:<18} {status.value:<9} {seconds:7.2f}s"
        )

    def close(self) -> None:
        """Stop the live display."""
        if self._started:
            self._progress.stop()
            self._started = False
