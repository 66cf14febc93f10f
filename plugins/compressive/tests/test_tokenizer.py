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
