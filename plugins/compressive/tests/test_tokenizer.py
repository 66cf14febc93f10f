"""The notes-chords tokenizer: music21 names, round trips, registry."""

import pytest
from seqkit_compressive.tokenizer import NotesChordsTokenizer, midi_steps, pitch_name, pitch_number

from seqkit import get_tokenizer_type, tokenizer_from_dict


def test_pitch_names_are_music21s():
    music21 = pytest.importorskip("music21")
    for m in range(12, 128):
        assert pitch_name(m) == music21.pitch.Pitch(midi=m).nameWithOctave
        assert pitch_number(pitch_name(m)) == m


def test_ids_round_trip_and_unknown_chords():
    steps = [(60,), (60, 64, 67), (58, 63), (62,), (60, 64, 67)]
    tok = get_tokenizer_type("notes-chords").resolve().build([steps])
    assert tok.vocab_size == 4 + 4
    assert tok.symbols == ["C4", "D4", "B-3.E-4", "C4.E4.G4"]  # notes first, then chords by size
    ids = tok.encode(steps, add_bos=True, add_eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
    assert tok.decode(ids) == steps
    assert tok.decode_symbols(ids) == "C4 C4.E4.G4 B-3.E-4 D4 C4.E4.G4"
    assert tok.encode("C4 C4.E4.G4") == ids[1:3]
    assert tok.encode([(61, 65)]) == [tok.unk_id]
    again = tokenizer_from_dict(tok.to_dict())
    assert again.symbols == tok.symbols and again.encode(steps) == tok.encode(steps)


@pytest.mark.parametrize("name", ["multitrack/Mr. Blue Sky.mid", "one_track/Maestro_1.mid", "music21/k525short.mid"])
def test_midi_round_trip(name, tmp_path, midi_fixtures):
    path = midi_fixtures / name
    steps = midi_steps(path)
    assert len(steps) > 20 and any(len(s) > 1 for s in steps)  # notes and chords
    tok = NotesChordsTokenizer.build([steps])
    ids = tok.encode(path)
    assert tok.unk_id not in ids and tok.decode(ids) == steps
    out = tmp_path / "out.mid"
    tok.to_midi(tok.decode(ids)).write(str(out))
    assert midi_steps(out) == steps  # MIDI -> tokens -> MIDI -> the same steps


def test_program_filter_reads_one_instrument(midi_fixtures):
    path = midi_fixtures / "multitrack/Funkytown.mid"
    all_steps, bass = midi_steps(path), midi_steps(path, program=87)
    assert 0 < len(bass) < len(all_steps)


@pytest.mark.parametrize("setting", [{"step_seconds": 0}, {"step_seconds": -0.25}, {"step_seconds": float("nan")},
                                     {"tolerance": -1}, {"program": 128}, {"program": -1}])
def test_bad_settings_are_one_line_errors(setting):
    # step_seconds=0 used to be accepted and train a model whose `generate --seconds` then
    # died of ZeroDivisionError (tokens_per_second); tolerance < 0 split every chord
    from seqkit import SeqkitError

    with pytest.raises(SeqkitError, match="notes-chords"):
        NotesChordsTokenizer.build([[(60,)]], **setting)


def test_music_train_rejects_a_zero_step_before_training(tmp_path, midi_fixtures):
    from seqkit.testing import run_cli

    if run_cli(["music", "--help"]).exit_code != 0:
        pytest.skip("the music commands (midi-transformer plugin) are not installed")
    r = run_cli(["music", "train", "--data", str(midi_fixtures / "one_track"), "--arch", "compressive",
                                 "--tokenizer", "notes-chords", "--tokenizer-option", "step_seconds=0",
                                 "--steps", "1", "--out", str(tmp_path / "run")])
    assert r.exit_code == 2, r.output
    assert "step_seconds must be above 0" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "run").exists()
