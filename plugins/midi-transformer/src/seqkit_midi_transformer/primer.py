"""An example primer made by this plugin's own code, so that ``seqkit music generate --primer
primer.mid`` works on any machine: ``seqkit music primer primer.mid`` writes it.

The notes are the first four bars of J. S. Bach's Prelude in C major (BWV 846, public domain):
in each half bar two bass notes are held while the upper three notes are broken in sixteenths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# the five notes of each bar's chord, low to high (C4 = 60)
BARS = [(60, 64, 67, 72, 76), (60, 62, 69, 74, 77), (59, 62, 67, 74, 77), (60, 64, 67, 72, 76)]


def example_notes(sixteenth: float = 0.15) -> np.ndarray:
    """``[N, 4]`` float notes (start, end, pitch, velocity) of the example primer."""
    notes = []
    t = 0.0
    for a, b, c, d, e in BARS:
        for _ in range(2):  # each bar is the same half bar twice
            for k, pitch in enumerate((a, b, c, d, e, c, d, e)):
                start = t + k * sixteenth
                end = t + 8 * sixteenth if k < 2 else start + sixteenth  # the bass notes are held
                notes.append((start, end, pitch, 72 if k == 0 else 60))
            t += 8 * sixteenth
    return np.array(notes, dtype=np.float64)


def write_example_primer(path: str | Path) -> dict:
    """Write the example primer as a one-track piano MIDI file; what was written."""
    import pretty_midi

    from .midi import write_midi

    notes = example_notes()
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0, name="piano")
    for start, end, pitch, velocity in notes.tolist():
        piano.notes.append(pretty_midi.Note(velocity=int(velocity), pitch=int(pitch), start=start, end=end))
    pm.instruments.append(piano)
    write_midi(pm, path)
    return {"out": str(path), "notes": len(notes), "seconds": round(float(notes[:, 1].max()), 2)}


def example_primer_file() -> tuple[str, bytes]:
    """The primer ``seqkit music primer`` writes, as a file's name and bytes (a form's example)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_example_primer(Path(tmp) / "primer.mid")
        return "bach-prelude-primer.mid", (Path(tmp) / "primer.mid").read_bytes()
