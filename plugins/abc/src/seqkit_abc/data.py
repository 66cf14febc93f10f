"""Reading ABC tunes: the course format (``<start>`` ... ``<end>`` blocks) and plain ``.abc`` files.

Every loader returns a list of tune texts: the ABC of one tune, LF line endings, no surrounding
markers, no trailing newline. ``stream()`` joins tunes back into the course format the models are
trained on (``<start>\\n`` + tune + ``\\n<end>\\n`` each).

Quirks handled (see ../shared/data/abc-pa3/SOURCE.md and nottingham/SOURCE.md):

* CRLF / CR line endings are normalised to LF; a missing trailing newline is fine.
* A last ``<start>`` block without ``<end>`` (fur_elise.txt) is kept.
* Spurious ``<end>\\n<start>`` cuts (a block that does not begin with ``X:``, e.g. ``XIV?me
  si?cle)`` after a ``C:`` line was cut in two upstream) are joined back to the tune before them.
* Plain ABC files hold several tunes separated by ``X:`` lines (``X: 1`` with a space too); text
  before the first ``X:`` (a file header) is dropped, blank lines between tunes are stripped.
* Binary files, empty files and files with neither ``<start>`` blocks nor ``X:`` tunes are a
  one-line ``SeqkitError``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from seqkit import SeqkitError

START, END = "<start>", "<end>"
DEFAULT_PRIMER = f"{START}\nX:"
_X_LINE = re.compile(r"^X:", re.M)
_FIELD_LINE = re.compile(r"^[A-Za-z]:")


def shared_data() -> Path:
    """``$SEQKIT_SHARED_DATA`` or ``../shared/data`` (the course data's usual place)."""
    return Path(os.environ.get("SEQKIT_SHARED_DATA", "../shared/data"))


def course_data(data: Path | None, val: Path | None) -> tuple[Path, Path | None]:
    """``--data``/``--val`` as given, or the course's train.txt and val.txt when ``--data`` is not."""
    if data is not None:
        return data, val
    course = shared_data() / "abc-pa3"
    if (course / "train.txt").exists():
        from seqkit import info

        info(f"using the course data in {course} (train.txt, val.txt)")
        return course / "train.txt", val or (course / "val.txt")
    raise SeqkitError("give --data FILE|FOLDER (no course data found at "
                      f"{course}; set SEQKIT_SHARED_DATA)")


def read_text(path: Path) -> str:
    """The file's text with LF line endings; a clear error for missing, empty or binary files."""
    path = Path(path)
    if not path.exists():
        raise SeqkitError(f"{path} does not exist")
    if path.is_dir():
        raise SeqkitError(f"{path} is a folder, expected a file")
    raw = path.read_bytes()
    if not raw.strip():
        raise SeqkitError(f"{path} is empty")
    if b"\x00" in raw:
        raise SeqkitError(f"{path} is a binary file, not ABC text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    control = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f")
    if control > max(2, len(text) // 1000):
        raise SeqkitError(f"{path} is a binary file, not ABC text ({control} control characters)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_course(text: str) -> list[str]:
    """Tunes from the course format: each between a ``<start>`` line and an ``<end>`` line."""
    tunes: list[str] = []
    for i, chunk in enumerate(text.split(START)):
        if i == 0:
            continue  # before the first <start>: nothing, or junk
        body, _, _ = chunk.partition(END)
        body = body.removeprefix("\n").rstrip("\n")
        if not body.strip():
            continue
        if tunes and not body.lstrip().startswith("X:"):
            tunes[-1] = tunes[-1] + "\n" + body  # a spurious <end><start> cut: join it back
        else:
            tunes.append(body)
    return tunes


def parse_abc(text: str) -> list[str]:
    """Tunes from a plain ABC file: each starts at an ``X:`` line."""
    starts = [m.start() for m in _X_LINE.finditer(text)]
    tunes = []
    for a, b in zip(starts, starts[1:] + [len(text)]):
        tune = text[a:b].strip("\n")
        tune = "\n".join(line.rstrip() for line in tune.split("\n"))
        if tune:
            tunes.append(tune)
    return tunes


def parse_text(text: str, fmt: str = "auto", source: str = "text") -> list[str]:
    """Tunes from text in ``fmt`` = ``course``, ``abc`` or ``auto`` (course if it has ``<start>``)."""
    if fmt not in ("auto", "course", "abc"):
        raise SeqkitError(f"unknown format {fmt!r}: use auto, course or abc")
    if fmt == "course" or (fmt == "auto" and START in text):
        tunes = parse_course(text)
        if not tunes:
            raise SeqkitError(f"{source} has no {START} ... {END} tune blocks")
        return tunes
    tunes = parse_abc(text)
    if not tunes:
        raise SeqkitError(f"{source} has no tunes: neither {START} blocks nor X: lines")
    return tunes


def load_tunes(path, fmt: str = "auto") -> list[str]:
    """Tunes from a file, or from every ``.abc``/``.txt`` file in a folder (sorted, recursive)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise SeqkitError(f"{path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".abc", ".txt")
                       and p.is_file() and p.name.upper() not in ("SOURCE.MD", "README.TXT"))
        if not files:
            raise SeqkitError(f"{path} has no .abc or .txt files")
        tunes = []
        for f in files:
            tunes += parse_text(read_text(f), fmt, str(f))
        return tunes
    return parse_text(read_text(path), fmt, str(path))


def wrap(tune: str) -> str:
    """One tune in the course format the model reads and writes."""
    return f"{START}\n{tune}\n{END}\n"


def stream(tunes: list[str]) -> str:
    return "".join(wrap(t) for t in tunes)


def unwrap(text: str) -> tuple[str, bool]:
    """The ABC inside a generated ``<start> ... <end>`` text, and whether ``<end>`` was reached."""
    body = text
    if body.startswith(START):
        body = body[len(START):]
    ended = END in body or START in body  # a new <start> also ends the tune
    body = body.split(END, 1)[0].split(START, 1)[0]
    return body.strip("\n"), ended


def header_mask(text: str) -> list[bool]:
    """Per character: is it in a tune header (``<start>``, ``X:`` through the first ``K:`` line)?

    Field lines inside the body (``w:`` lyrics, a mid-tune ``K:``) count as body.
    """
    mask: list[bool] = []
    in_header = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped in (START, END) or line.startswith("X:"):
            in_header = True
            is_header = True
        elif in_header and (_FIELD_LINE.match(line) or line.startswith("%")):
            is_header = True
            if line.startswith("K:"):
                in_header = False
        else:
            in_header = False
            is_header = False
        mask += [is_header] * (len(line) + 1)
    return mask[: len(text)]
