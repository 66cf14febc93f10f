"""Folder and file locks, so that two processes never write one run folder or one model at once.

The lock is an advisory ``flock`` on a small lock file (``msvcrt.locking`` on Windows). The
operating system releases it when its process ends in any way, ``kill -9`` included, so a lock
left by a killed process never blocks: the lock file may stay, but it is free. The file holds the
owner's process id, for the error message.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from seqkit.errors import SeqkitError

LOCK_NAME = ".seqkit.lock"


class LockedError(SeqkitError):
    """Another process holds the lock."""


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


@contextlib.contextmanager
def hold_lock(path, what: str):
    """Hold the lock file ``path`` for the ``with`` block, or raise :class:`LockedError` at once.

    ``what`` names the locked thing in the message, e.g. ``"the run folder run/"``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # never through a link: a linked lock file would truncate whatever it points at
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o666)
    except OSError:
        if path.is_symlink():
            raise SeqkitError(f"{path} is a symbolic link; a lock file must be a plain file: remove it") from None
        raise
    import stat

    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SeqkitError(f"{path} is not a plain file; a lock file must be one: remove it")
    try:
        if not _try_lock(fd):
            raise LockedError(f"{what} is in use by another seqkit process{_holder(path)}; "
                              f"wait for it to finish, or choose another")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.close(fd)  # closing releases the lock


def run_lock(folder):
    """The lock of a run folder (``Trainer.fit`` holds it while it trains)."""
    folder = Path(folder)
    return hold_lock(folder / LOCK_NAME, f"the run folder {folder}")
