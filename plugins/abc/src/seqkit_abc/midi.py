"""ABC -> MIDI, offline: music21's ABC parser, or ``abc2midi`` (abcMIDI) when it is on PATH.

A tune is *valid* when it converts to a MIDI file with at least one note.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from seqkit.errors import SeqkitError

ENGINES = ("auto", "music21", "abc2midi")


@dataclass
class Conversion:
    ok: bool
    midi: bytes = b""
    notes: int = 0
    error: str = ""


def pick_engine(engine: str = "auto") -> str:
    if engine not in ENGINES:
        raise SeqkitError(f"unknown engine {engine!r}: use {', '.join(ENGINES)}")
    if engine == "abc2midi" and not shutil.which("abc2midi"):
        raise SeqkitError("abc2midi is not installed (install abcmidi, or use --engine music21)")
    if engine == "auto":
        return "music21"  # deterministic default; abc2midi only when asked for
    return engine


def _one_line(exc: BaseException) -> str:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return msg[:200]


def _music21(tune: str) -> Conversion:
    import contextlib
    import io
    import warnings

    from music21 import converter, midi

    # music21 prints parser warnings straight to stderr; keep them out of the CLI's output
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            score = converter.parse(tune, format="abc")
            notes = len(score.flatten().notes)
            if notes == 0:
                return Conversion(False, error="no notes")
            data = midi.translate.music21ObjectToMidiFile(score).writestr()
        except Exception as exc:  # music21 raises many kinds; all mean "cannot read this ABC"
            return Conversion(False, error=f"{type(exc).__name__}: {_one_line(exc)}")
    return Conversion(True, data, notes)


def _abc2midi(tune: str) -> Conversion:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "tune.abc"), Path(tmp, "tune.mid")
        src.write_text(tune + "\n")
        try:
            proc = subprocess.run(["abc2midi", str(src), "-o", str(out)], capture_output=True,
                                  text=True, timeout=30)
        except subprocess.TimeoutExpired:
            return Conversion(False, error="abc2midi timed out")
        if not out.exists() or out.stat().st_size == 0:
            lines = [x for x in (proc.stdout + proc.stderr).splitlines() if "rror" in x]
            return Conversion(False, error=(lines[0] if lines else "abc2midi wrote no MIDI")[:200])
        data = out.read_bytes()
    try:
        import io

        import mido

        notes = sum(1 for tr in mido.MidiFile(file=io.BytesIO(data)).tracks for m in tr
                    if m.type == "note_on" and m.velocity > 0)
    except Exception as exc:
        return Conversion(False, error=f"abc2midi wrote an unreadable MIDI: {_one_line(exc)}")
    if notes == 0:
        return Conversion(False, error="no notes")
    return Conversion(True, data, notes)


def abc_to_midi(tune: str, engine: str = "auto") -> Conversion:
    """Convert one tune's ABC; never raises for bad ABC (the reason is in ``.error``)."""
    engine = pick_engine(engine)
    if not tune.strip():
        return Conversion(False, error="empty tune")
    return _abc2midi(tune) if engine == "abc2midi" else _music21(tune)
