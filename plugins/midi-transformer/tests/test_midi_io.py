"""MIDI reading and writing in the music plugin (``seqkit_midi_transformer.midi``, core's
``seqkit.midi`` until 0.6) and the old top-level names, which import for one more release."""

import warnings

import numpy as np
import pytest
from seqkit_midi_transformer import midi

import seqkit

MOVED = ("read_midi", "midi_bytes", "unreadable_midi", "tick_scales", "seconds_of", "tick_seconds")


@pytest.mark.parametrize("name", MOVED)
def test_the_old_top_level_names_import_with_one_deprecation(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = getattr(seqkit, name)
    assert value is getattr(midi, name)
    assert len(caught) == 1 and caught[0].category is DeprecationWarning
    message = str(caught[0].message)
    assert "\n" not in message and f"seqkit_midi_transformer.midi.{name}" in message
    assert caught[0].filename == __file__  # points at the caller's line
    assert name not in seqkit.__all__


def test_write_then_read_gives_the_notes_back(tmp_path):
    notes = np.array([[0.0, 0.5, 60, 80], [0.5, 1.25, 64, 100], [1.0, 2.0, 67, 40]])
    path = tmp_path / "out.mid"
    midi.write_midi(notes, path)
    score = midi.read_midi(path)
    got = score.tracks[0].notes.numpy()
    seconds = np.stack([midi.tick_seconds(score, got["time"]),
                        midi.tick_seconds(score, got["time"] + got["duration"])], axis=1)
    assert np.allclose(seconds, notes[:, :2], atol=1e-3)
    assert got["pitch"].tolist() == [60, 64, 67] and got["velocity"].tolist() == [80, 100, 40]
    again = tmp_path / "again.mid"
    midi.write_midi(score, again)  # a symusic Score writes too
    assert midi.read_midi(again).tracks[0].notes.numpy()["pitch"].tolist() == [60, 64, 67]


def test_write_errors_are_one_line(tmp_path):
    (tmp_path / "folder.mid").mkdir()
    with pytest.raises(seqkit.SeqkitError, match="cannot write"):
        midi.write_midi(np.array([[0.0, 1.0, 60, 80]]), tmp_path / "folder.mid")
    with pytest.raises(seqkit.SeqkitError, match="is a folder, not a MIDI file"):
        midi.read_midi(tmp_path / "folder.mid")
