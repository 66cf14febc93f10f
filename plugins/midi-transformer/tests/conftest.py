import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("SEQKIT_PROGRESS", "0")
sys.path.insert(0, str(Path(__file__).parent))  # for music_helpers (pytest runs with importlib mode)

from music_helpers import make_midi, scale_notes  # noqa: E402


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SEQKIT_WORKERS", "1")


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
