"""Rich progress bars and console output shared by all commands."""

from __future__ import annotations

import sys


def console(stderr: bool = True):
    from rich.console import Console

    return Console(stderr=stderr)


def progress_bar(disable: bool = False, transient: bool = False):
    """A rich ``Progress`` with description, bar, counts, rate and time left; shown on stderr.

    ``SEQKIT_PROGRESS=0`` turns every bar off (useful in logs and CI).
    """
    import os

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
        console=console(),
        disable=disable,
        transient=transient,
    )


def info(message: str) -> None:
    """A notice on stderr (kept off stdout so JSON output stays clean)."""
    print(message, file=sys.stderr)
