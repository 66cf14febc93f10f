import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("SEQKIT_PROGRESS", "0")
REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("SEQKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SEQKIT_WORKERS", "1")


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


@pytest.fixture
def primer(tmp_path):
    return make_midi(tmp_path / "primer.mid", scale_notes())


@pytest.fixture
def maestro_folder(tmp_path):
    """A tiny MAESTRO-style folder with the official csv columns."""
    import csv

    root = tmp_path / "maestro"
    (root / "2004").mkdir(parents=True)
    rows = []
    for i, split in enumerate(["train", "train", "train", "validation", "test"]):
        name = f"2004/piece_{i}.midi"
        make_midi(root / name, scale_notes(40, seed=i), pedal=[(1.0, 100), (2.5, 0)])
        rows.append({"canonical_composer": "C", "canonical_title": f"T{i}", "split": split,
                     "year": 2004, "midi_filename": name, "audio_filename": name.replace(".midi", ".wav"),
                     "duration": 11.0})
    with open(root / "maestro-v2.0.0.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root
