"""How much music one ``music generate`` may make, besides its tokens.

Tokens do not bound a piece's length: one note held for 2^28 ticks is a 46-byte MIDI, 279,620
seconds of music and, continued by four tokens, a 2,045 s WAV of 180 MB (2.8 GB of memory while
it renders). So every piece is bounded in seconds too, by ``--max-seconds`` (``MAX_SECONDS`` by
default):

* a primer whose music lasts longer is refused (its first seconds can still be used with
  ``--primer-seconds``);
* each piece (primer and continuation) is cut there, its notes and its pedal alike, so its WAV is
  at most that long (44,100 16-bit samples a second: 600 s is 53 MB);
* the audio of one run is at most ``AUDIO_PIECES`` x ``--max-seconds`` in all (3,600 s, 318 MB of
  WAV by default), checked before anything is rendered.
"""

from __future__ import annotations

from seqkit import SeqkitError

MAX_SECONDS = 600.0
AUDIO_PIECES = 6  # a run renders at most this many pieces' worth of --max-seconds of audio
WAV_BYTES_PER_SECOND = 44_100 * 2


def check_primer_seconds(path, end: float, max_seconds: float | None) -> None:
    """A primer whose music ends after ``max_seconds`` is refused, in one line."""
    if max_seconds is not None and end > max_seconds:
        raise SeqkitError(f"{path} lasts {end:,.0f} s (where its last note or event ends); a piece may be at most "
                          f"{max_seconds:,g} s (--max-seconds): use its first seconds with --primer-seconds S, or "
                          f"raise --max-seconds")


def clip_piece(pm, notes, max_seconds: float | None):
    """The piece (a ``PrettyMIDI`` and its ``[N, 4]`` notes) without anything after
    ``max_seconds``: notes that start later dropped, the others ended there, controls and pitch
    bends after it dropped; and whether anything was cut."""
    import numpy as np

    if max_seconds is None:
        return pm, notes, False
    cut = False
    for inst in pm.instruments:
        kept = [n for n in inst.notes if n.start < max_seconds]
        for n in kept:
            if n.end > max_seconds:
                n.end, cut = max_seconds, True
        cut |= len(kept) < len(inst.notes)
        inst.notes = kept
        for name in ("control_changes", "pitch_bends"):
            events = getattr(inst, name, [])
            later = [e for e in events if e.time > max_seconds]
            if later:
                setattr(inst, name, [e for e in events if e.time <= max_seconds])
                cut = True
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    if len(notes) and float(notes[:, 1].max()) > max_seconds:
        notes = notes[notes[:, 0] < max_seconds].copy()
        notes[:, 1] = np.minimum(notes[:, 1], max_seconds)
        cut = True
    return pm, notes, cut


def check_audio_total(seconds: list[float], max_seconds: float) -> None:
    """Refused before rendering: more audio in all than ``AUDIO_PIECES`` x ``max_seconds``."""
    total, cap = float(sum(seconds)), AUDIO_PIECES * max_seconds
    if total > cap:
        raise SeqkitError(f"these {len(seconds)} pieces last {total:,.0f} s in all, {total * WAV_BYTES_PER_SECOND / 1e6:,.0f} "
                          f"MB of WAV; one run renders at most {cap:,g} s ({AUDIO_PIECES} x --max-seconds "
                          f"{max_seconds:g}): make fewer or shorter pieces, or raise --max-seconds")


# the sampling controls' menus (controls.py), here so that the generator's schema needs no numpy
KEY_MASK = 20.0  # --key-strength at or above this forbids out-of-key notes
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KEY_CHOICES = ("auto", *(f"{n} {m}" for m in ("major", "minor") for n in KEY_NAMES))
