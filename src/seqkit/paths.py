"""Output paths: one check that a file or folder can be written, before any work is done, and one
rule for numbering several outputs. Plain Python (no torch)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .errors import SeqkitError


def check_writable(path, what: str = "", folder: bool = False) -> Path:
    """Fail now, not after a long run, when ``path`` cannot take a file (or, with ``folder``,
    files): a folder where a file goes, a file where a folder goes, a place that cannot be
    written. Nothing is created: the nearest folder that exists must take a new file (a real
    temporary file is the test; ``os.access`` says yes to root on read-only file systems), and
    missing folders are made when the file is written. ``what`` names the option."""
    path = Path(path).expanduser()
    label = f"{what} {path}" if what else str(path)
    if folder and path.exists() and not path.is_dir():
        raise SeqkitError(f"{label} is a file, not a folder")
    if not folder and path.is_dir():
        raise SeqkitError(f"{label} is a folder; give a file name")
    place = path if folder else path.parent
    while not place.exists() and place != place.parent:
        place = place.parent
    if not place.is_dir():
        raise SeqkitError(f"cannot write {label}: {place} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=place):
            pass
    except OSError as exc:
        raise SeqkitError(f"cannot write {label}: {place} is not a writable folder ({exc.strerror or exc})") from None
    return path


def numbered(path, count: int, suffix: str = "") -> list[Path]:
    """``[path]`` for one output; ``NAME_1.SUFFIX`` ... ``NAME_count.SUFFIX`` for several."""
    path = Path(path)
    if count == 1:
        return [path]
    ext = path.suffix or (f".{suffix.lstrip('.')}" if suffix else "")
    return [path.with_name(f"{path.stem}_{i + 1}{ext}") for i in range(count)]
