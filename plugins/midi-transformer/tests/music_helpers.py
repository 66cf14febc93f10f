"""Helpers for the midi-transformer tests (imported by name: conftest puts this folder on sys.path)."""

import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("SEQKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


def make_midi(path, notes, pedal=(), drums=False, program=0):
    """Write a MIDI file of (start, end, pitch, velocity) notes and (time, value) CC64 events."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program, is_drum=drums)
    for s, e, p, v in notes:
        inst.notes.append(pretty_midi.Note(velocity=int(v), pitch=int(p), start=float(s), end=float(e)))
    for t, val in pedal:
        inst.control_changes.append(pretty_midi.ControlChange(64, int(val), float(t)))
    pm.instruments.append(inst)
    pm.write(str(path))
    return Path(path)


def scale_notes(n=24, start=0.5, step=0.25, seed=0):
    rng = np.random.default_rng(seed)
    return [(start + i * step, start + i * step + 0.2, 60 + (i * 7) % 24, int(rng.integers(30, 110)))
            for i in range(n)]
