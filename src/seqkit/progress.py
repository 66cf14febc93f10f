"""Rich progress bars and console output shared by all commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["progress_bar", "progress_steps", "info"]


def console(stderr: bool = True, force_terminal: bool | None = None):
    from rich.console import Console

    return Console(stderr=stderr, force_terminal=force_terminal)


def progress_bar(disable: bool = False, transient: bool = False, force_terminal: bool | None = None):
    """A rich ``Progress`` with description, bar, counts, rate and time left; shown on stderr.

    ``SEQKIT_PROGRESS=0`` turns every bar off (useful in logs and CI).
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if os.environ.get("SEQKIT_PROGRESS") == "0":
        disable = True
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console(force_terminal=force_terminal),
        disable=disable,
        transient=transient,
    )


def shows_progress() -> bool:
    """Whether a command's progress is shown: stderr is a terminal and ``SEQKIT_PROGRESS`` is not
    ``0``; ``SEQKIT_PROGRESS=1`` shows it anywhere (drawn as on a terminal)."""
    setting = os.environ.get("SEQKIT_PROGRESS")
    if setting in ("0", "1"):
        return setting == "1"
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


@contextmanager
def progress_steps(total: int | None, description: str) -> Iterator[Callable[[int], None]]:
    """Progress for a command that may take a while: ``with progress_steps(n, "sampling") as
    advance:`` then ``advance(k)`` after each ``k`` steps done (``total=None``: no known end, the
    bar shows that work goes on and the time taken).

    Shown on stderr only where :func:`shows_progress` says so; elsewhere (piped, in CI,
    ``SEQKIT_PROGRESS=0``) ``advance`` does nothing and nothing is printed. The bar is removed
    when the work is done, so only the command's own output stays.
    """
    if not shows_progress():
        yield lambda k=1: None
        return
    bar = progress_bar(transient=True, force_terminal=True if os.environ.get("SEQKIT_PROGRESS") == "1" else None)
    task = bar.add_task(description, total=total)
    with bar:
        yield lambda k=1: bar.advance(task, k)


def info(message: str) -> None:
    """A notice on stderr (kept off stdout so JSON output stays clean)."""
    print(message, file=sys.stderr)
