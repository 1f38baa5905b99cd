"""Rich progress bars for every long stage (quiet when GENRM_QUIET=1, e.g. in tests, and in every process of a
launcher but the main one: `accelerate launch` with 8 processes draws one bar, not 8)."""

from __future__ import annotations

import os
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

_OTHER_RANK = os.environ.get("RANK", "0") not in ("", "0")  # set by the launchers before Python starts
console = Console(stderr=True, quiet=_OTHER_RANK)


class _Quiet:
    def add_task(self, *a, **k):
        return 0

    def update(self, *a, **k):
        pass

    def advance(self, *a, **k):
        pass


@contextmanager
def progress_bar(description: str | None, total: int | None):
    """Yield `(progress, task_id)`; call `progress.advance(task_id, k)` as work completes.

    With no description (an inner loop of a stage that has its own bar) nothing is shown.
    """
    if description is None or os.environ.get("GENRM_QUIET") == "1" or _OTHER_RANK:
        yield _Quiet(), 0
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        yield progress, progress.add_task(description, total=total, info="")
