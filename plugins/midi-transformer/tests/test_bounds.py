"""A piece's seconds are bounded, not only its tokens (issue 29): a 46-byte MIDI with one note held
2^28 ticks made a 2,045 s WAV of 180 MB (2.8 GB of memory) from four tokens."""

from __future__ import annotations

import struct
import wave

import pytest
from music_helpers import make_midi

from seqkit.testing import run_cli

LONG_NOTE_TRACK = bytes.fromhex("00903C40FFFFFF7F803C0000904040836080400000FF2F00")


def long_note(path):
    track = LONG_NOTE_TRACK
    path.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(track)) + track)
    assert path.stat().st_size == 46
    return path


def test_a_long_note_primer_is_refused_and_its_start_can_still_be_used(tmp_path):
    primer = long_note(tmp_path / "longnote.mid")
    out, wav = tmp_path / "g.mid", tmp_path / "g.wav"
    r = run_cli(["music", "generate", "--primer", str(primer), "--tokens", "4", "--wav", str(wav), "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert f"Error: {primer} lasts 279,621 s" in r.output and "at most 600 s (--max-seconds)" in r.output
    assert "--primer-seconds" in r.output and not wav.exists() and not out.exists()
    r = run_cli(["music", "generate", "--primer", str(primer), "--primer-seconds", "10", "--tokens", "4", "--seed", "1",
                 "--wav", str(wav), "--out", str(out)])
    assert r.exit_code == 0, r.output
    with wave.open(str(wav)) as w:
        assert w.getnframes() / w.getframerate() < 20


def test_each_piece_stops_at_max_seconds(tmp_path):
    primer = make_midi(tmp_path / "p.mid", [(0.0, 9.0, 60, 80), (0.5, 1.0, 64, 80), (8.0, 8.5, 67, 80)])
    out, wav = tmp_path / "g.mid", tmp_path / "g.wav"
    r = run_cli(["music", "generate", "--primer", str(primer), "--tokens", "2", "--seed", "1", "--max-seconds", "3",
                 "--primer-seconds", "2.5", "--wav", str(wav), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    with wave.open(str(wav)) as w:
        assert w.getnframes() / w.getframerate() < 3 + 2.5  # FluidSynth's release tail at most
    r = run_cli(["music", "generate", "--primer", str(primer), "--tokens", "2", "--max-seconds", "3",
                 "--out", str(out)])
    assert r.exit_code == 2 and "lasts 9 s" in r.output and "--max-seconds" in r.output


def test_the_audio_of_one_run_is_bounded_before_it_is_rendered(tmp_path):
    primer = make_midi(tmp_path / "p.mid", [(0.0, 1.4, 60, 80)])  # 7 x 1.4 s > 6 x 1.5 s
    wav = tmp_path / "g.wav"
    r = run_cli(["music", "generate", "--primer", str(primer), "--tokens", "2", "--seed", "1", "--count", "7",
                 "--max-seconds", "1.5", "--wav", str(wav), "--out", str(tmp_path / "g.mid")])
    assert r.exit_code == 2, r.output
    assert "these 7 pieces last" in r.output and "one run renders at most 9 s (6 x --max-seconds 1.5)" in r.output
    assert not list(tmp_path.glob("g*.wav"))


def test_clip_piece_cuts_notes_and_pedal():
    pretty_midi = pytest.importorskip("pretty_midi")
    import numpy as np
    from seqkit_midi_transformer.bounds import clip_piece

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes += [pretty_midi.Note(80, 60, 0.0, 5000.0), pretty_midi.Note(80, 62, 20.0, 21.0)]
    inst.control_changes.append(pretty_midi.ControlChange(64, 0, 4000.0))
    pm.instruments.append(inst)
    notes = np.array([[0.0, 5000.0, 60, 80], [20.0, 21.0, 62, 80]])
    pm, notes, cut = clip_piece(pm, notes, 10.0)
    assert cut and pm.get_end_time() == 10.0 and notes.tolist() == [[0.0, 10.0, 60.0, 80.0]]
    assert clip_piece(pm, notes, 10.0)[2] is False
