"""Uploads for ``file`` parameters: size-capped, read as MIDI or ABC only, saved to a temp folder.

The generator gets the path of the saved copy; nothing else the client sends is used as a path.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from seqkit import SeqkitError

MIDI_SUFFIXES = (".mid", ".midi")
ABC_SUFFIXES = (".abc",)
ABC_KEY_LINE = re.compile(r"^K:", re.MULTILINE)


def save_upload(param, filename: str, data: bytes, max_bytes: int, folder: Path) -> Path:
    """``data`` checked for ``param`` (its ``accept`` suffixes, the size cap, MIDI or ABC content)
    and written to ``folder``; the error names the parameter as the command line does."""
    suffix = Path(filename or "").suffix.lower()
    accept = tuple(a.lower() for a in param.accept)
    if accept and suffix not in accept:
        raise SeqkitError(f"{param.flag} takes {', '.join(accept)} files, not {filename!r}")
    if len(data) > max_bytes:
        raise SeqkitError(f"{param.flag}: the upload is {len(data):,} bytes; this server takes at most "
                          f"{max_bytes:,} (seqkit serve --max-upload-mb)")
    if not data:
        raise SeqkitError(f"{param.flag}: the upload {filename!r} is empty")
    if suffix in MIDI_SUFFIXES:
        _check_midi(param, filename, data)
    elif suffix in ABC_SUFFIXES:
        _check_abc(param, filename, data)
    else:
        raise SeqkitError(f"{param.flag}: this server takes MIDI (.mid, .midi) and ABC (.abc) uploads "
                          f"only, not {filename!r}")
    path = folder / f"{param.name}{suffix}"
    path.write_bytes(data)
    return path


def _check_midi(param, filename: str, data: bytes) -> None:
    if not data.startswith(b"MThd"):
        raise SeqkitError(f"{param.flag}: {filename!r} is not a MIDI file (it does not start with MThd)")
    import mido

    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError ... on bad files
        raise SeqkitError(f"{param.flag}: {filename!r} is not a readable MIDI file ({exc})") from None
    if not any(len(track) for track in midi.tracks):
        raise SeqkitError(f"{param.flag}: {filename!r} has no MIDI events")


def _check_abc(param, filename: str, data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SeqkitError(f"{param.flag}: {filename!r} is not an ABC tune (not UTF-8 text)") from None
    if "\x00" in text or not ABC_KEY_LINE.search(text):
        raise SeqkitError(f"{param.flag}: {filename!r} is not an ABC tune (no K: key line)")
