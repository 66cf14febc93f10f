"""Output paths: one check that a file or folder can be written, before any work is done, one
rule for numbering several outputs, and one rule for what stands at an output path. Plain Python
(no torch).

What stands at the path decides how a file is written (:func:`output_kind`):

* nothing, or a regular file: a new file through a temporary file and ``os.replace`` (atomic);
* ``-``: standard output;
* a character device or a FIFO (``/dev/null``, a named pipe): written through, never replaced;
  so are ``/dev/stdout``, ``/dev/stderr`` and ``/dev/fd/N`` (links to this process's streams);
* any other symbolic link: refused with one ``Error:`` line. Replacing it would break the link,
  and writing through it would write wherever it points, possibly far from where the user looked
  (a link planted in a shared folder); the user names the file the link points at instead;
* a block device or a socket: refused.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from seqkit.errors import SeqkitError

STDOUT = "-"
_STREAM_LINKS = ("/dev/stdout", "/dev/stderr")
_STREAM_PREFIXES = ("/dev/fd/", "/proc/self/fd/")


def output_kind(path, what: str = "") -> str:
    """``"stdout"`` (``-``), ``"through"`` (a character device, a FIFO, ``/dev/stdout``: write
    into it, never replace it) or ``"file"`` (nothing there, a regular file or a folder: the
    usual atomic write); a :class:`SeqkitError` for a symbolic link, a block device or a socket."""
    text = str(path)
    if text == STDOUT:
        return "stdout"
    label = f"{what} {text}" if what else text
    try:
        st = os.lstat(text)
    except OSError:
        return "file"
    if stat.S_ISLNK(st.st_mode):
        if text in _STREAM_LINKS or text.startswith(_STREAM_PREFIXES):
            return "through"
        raise SeqkitError(f"{label} is a symbolic link (to {os.readlink(text)}); seqkit does not replace "
                          f"or follow it: give the path it points at, or remove the link")
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return "file"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return "through"
    kind = "block device" if stat.S_ISBLK(st.st_mode) else "socket"
    raise SeqkitError(f"{label} is a {kind}; seqkit writes files, character devices and FIFOs only")


def write_through(path, data: bytes, kind: str) -> None:
    """Write ``data`` to standard output (``kind="stdout"``) or into the device or FIFO at ``path``."""
    if kind == "stdout":
        out = getattr(sys.stdout, "buffer", None)
        if out is None:
            sys.stdout.write(data.decode("utf-8", "replace"))
        else:
            out.write(data)
        sys.stdout.flush()
        return
    with open(path, "wb") as f:  # a device or a FIFO: opened as it is, nothing created or renamed
        f.write(data)


def check_writable(path, what: str = "", folder: bool = False) -> Path:
    """Fail now, not after a long run, when ``path`` cannot take a file (or, with ``folder``,
    files): a folder where a file goes, a file where a folder goes, a place that cannot be
    written. Nothing is created: the nearest folder that exists must take a new file (a real
    temporary file is the test; ``os.access`` says yes to root on read-only file systems), and
    missing folders are made when the file is written. ``what`` names the option."""
    path = Path(path).expanduser()
    label = f"{what} {path}" if what else str(path)
    if folder and str(path) == STDOUT:
        raise SeqkitError(f"{label}: a folder is needed here, not standard output")
    if not folder and output_kind(path, what) != "file":
        if str(path) != STDOUT and not os.access(path, os.W_OK):
            raise SeqkitError(f"cannot write {label}: permission denied")
        return path
    if folder and path.is_symlink() and not path.is_dir():
        raise SeqkitError(f"{label} is a symbolic link that does not lead to a folder")
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
    """``[path]`` for one output; ``NAME_1.SUFFIX`` ... ``NAME_count.SUFFIX`` for several. Standard
    output (``-``), a device or a FIFO takes one output only."""
    path = Path(path)
    if count == 1:
        return [path]
    if output_kind(path) != "file":
        raise SeqkitError(f"{path} takes one output, not {count}: give a file name (numbered NAME_1 ...)")
    ext = path.suffix or (f".{suffix.lstrip('.')}" if suffix else "")
    return [path.with_name(f"{path.stem}_{i + 1}{ext}") for i in range(count)]
