"""What a quantization job shows while it works: transient bars and spinners on a stderr console.

Nothing here is a result: bars vanish when their step ends, and on a pipe (not a terminal) rich draws
nothing. The report of what was measured is printed by the CLI from the job's result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

Update = Callable[..., None]  # update(completed, total=None, **fields)


class JobProgress:
    """Bars and spinners for one job, on ``console`` (default: a new stderr console)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)

    @contextmanager
    def bar(self, label: str, total: int | None = None, loss: bool = False) -> Iterator[Update]:
        """A transient ``done/total`` bar named ``label``; yields ``update(completed, total=None, **fields)``.

        Args:
            label: what is counted (``calibration images``, ``INT8 schemes for arm`` ...).
            total: the count when known up front; None until the first update gives it.
            loss: also show a ``loss`` field (``update(step, loss=value)``).

        Yields:
            The function that moves the bar.
        """
        columns = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
        fields = {"loss": float("nan")} if loss else {}
        if loss:
            columns.append(TextColumn("loss {task.fields[loss]:.4f}"))
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(label, total=total, **fields)

            def update(completed: int, total: int | None = None, **values: float) -> None:
                progress.update(task, completed=completed, **({"total": total} if total is not None else {}),
                                **values)

            yield update

    def status(self, text: str) -> AbstractContextManager[object]:
        """A spinner with ``text`` while a step without a count runs."""
        return self.console.status(text)

    def note(self, text: str) -> None:
        """One line on the console (e.g. where a resumed run continues from)."""
        self.console.print(text)
