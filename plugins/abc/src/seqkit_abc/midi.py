"""ABC -> MIDI, offline: music21's ABC parser, or ``abc2midi`` (abcMIDI) when it is on PATH.

A tune is *valid* when it converts to a MIDI file with at least one note. music21 is stricter
than the ABC 2.1 standard in two ways, which the music21 path repairs (and reports in ``fixes``):

* ``default-L``: music21 refuses notes when neither ``L:`` nor ``M:`` came before them; the
  standard says the unit note length then defaults to 1/8 (1/16 when a later ``M:`` is below 3/4).
  We insert that default after the ``X:`` line.
* ``repeats-once``: writing MIDI expands repeats, and music21 gives up on unbalanced ``|:``/``:|``
  or endings; we then play the tune straight through once, as abc2midi does with a warning.
* ``shared-meter``: after a bar with too many beats music21 places one TimeSignature object in
  two measures and then refuses to write MIDI ("already found in this Stream"); we remove the
  repeated placement (the notes are unchanged; abc2midi plays such bars with a warning).

``strict`` is True when neither repair was needed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from seqkit import SeqkitError

ENGINES = ("auto", "music21", "abc2midi")


@dataclass
class Conversion:
    ok: bool
    midi: bytes = b""
    notes: int = 0
    error: str = ""
    fixes: tuple = ()

    @property
    def strict(self) -> bool:
        return self.ok and not self.fixes


_FIELD = re.compile(r"^[A-Za-z]:")


def _meter_value(tune: str) -> float | None:
    m = re.search(r"^M:\s*(\S+)", tune, re.M)
    if not m:
        return None
    v = m.group(1)
    if v in ("C", "C|"):
        return 1.0
    num, _, den = v.partition("/")
    try:
        return int(num) / int(den)
    except (ValueError, ZeroDivisionError):
        return None


def default_unit_length(tune: str) -> str | None:
    """The ``L:`` line to add when neither ``L:`` nor ``M:`` (from which music21 derives it)
    precedes the first music line (ABC 2.1, section 3.1.7)."""
    for line in tune.split("\n"):
        if line.startswith(("L:", "M:")):
            return None
        if line.strip() and not _FIELD.match(line) and not line.startswith("%"):
            break
    meter = _meter_value(tune)
    return "L:1/16" if meter is not None and meter < 0.75 else "L:1/8"


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


def _play_once(score) -> None:
    """Drop repeat barlines, endings and repeat expressions so nothing needs expanding."""
    from music21 import bar, repeat, spanner

    for m in score.recurse().getElementsByClass("Measure"):
        if isinstance(m.leftBarline, bar.Repeat):
            m.leftBarline = bar.Barline()
        if isinstance(m.rightBarline, bar.Repeat):
            m.rightBarline = bar.Barline()
    for cls in (spanner.RepeatBracket, repeat.RepeatExpression):
        for el in list(score.recurse().getElementsByClass(cls)):
            if el.activeSite is not None:
                el.activeSite.remove(el)


def _dedupe_meters(score) -> bool:
    """Remove repeated placements of one TimeSignature object (a music21 bug after over-full
    bars); True when there was something to remove."""
    seen, removed = set(), False
    for m in score.recurse().getElementsByClass("Measure"):
        for ts in list(m.getElementsByClass("TimeSignature")):
            if id(ts) in seen:
                m.remove(ts)
                removed = True
            seen.add(id(ts))
    return removed


def _music21(tune: str) -> Conversion:
    import contextlib
    import io
    import warnings

    from music21 import converter, midi
    from music21.exceptions21 import StreamException
    from music21.repeat import ExpanderException

    fixes = []
    default_l = default_unit_length(tune)
    if default_l and tune.startswith("X:"):  # only for a real tune (X: first, as the standard says)
        head, _, rest = tune.partition("\n")
        tune = f"{head}\n{default_l}\n{rest}"
        fixes.append("default-L")
    # music21 prints parser warnings straight to stderr; keep them out of the CLI's output
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            score = converter.parse(tune, format="abc")
            notes = len(score.flatten().notes)
            if notes == 0:
                return Conversion(False, error="no notes")
            for _ in range(3):  # each repair at most once
                try:
                    data = midi.translate.music21ObjectToMidiFile(score).writestr()
                    break
                except ExpanderException:
                    if "repeats-once" in fixes:
                        raise
                    _play_once(score)
                    fixes.append("repeats-once")
                except StreamException:
                    if "shared-meter" in fixes or not _dedupe_meters(score):
                        raise
                    fixes.append("shared-meter")
        except Exception as exc:  # music21 raises many kinds; all mean "cannot read this ABC"
            return Conversion(False, error=f"{type(exc).__name__}: {_one_line(exc)}")
    return Conversion(True, data, notes, fixes=tuple(fixes))


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
