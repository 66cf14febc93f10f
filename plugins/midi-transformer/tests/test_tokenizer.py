import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from music_helpers import SHARED, make_midi
from seqkit_midi_transformer.tokenizer import (
    BOS,
    EOS,
    N_EVENTS,
    NOTE_OFF,
    NOTE_ON,
    TIME_SHIFT,
    VELOCITY,
    PerformanceTokenizer,
    decode_quantized,
    encode_quantized,
    quantize_notes,
    token_seconds,
)

from seqkit import SeqkitError

tok = PerformanceTokenizer()

note = st.tuples(st.integers(0, 3000), st.integers(1, 400), st.integers(0, 127), st.integers(1, 127))
notes_strategy = st.lists(note, min_size=0, max_size=60)


def as_float_notes(raw):
    """(start step, duration steps, pitch, velocity) -> float seconds on the 10 ms grid."""
    return np.array([(s / 100, (s + d) / 100, p, v) for s, d, p, v in raw], dtype=np.float64).reshape(-1, 4)


@settings(max_examples=150, deadline=None)
@given(notes_strategy)
def test_round_trip_keeps_quantized_notes(raw):
    q = quantize_notes(as_float_notes(raw))
    ids = encode_quantized(q)
    assert all(0 <= i < N_EVENTS for i in ids)
    back = decode_quantized(ids)
    assert np.array_equal(back, q)  # absolute times, pitches, velocity bins, durations
    assert encode_quantized(back) == ids


def encode_loop(q):
    """The event-by-event encoder that the vectorised ``encode_quantized`` replaced (reference)."""
    n = len(q)
    events = sorted([(e, 0, p, v) for _, e, p, v in q.tolist()] + [(s, 1, p, v) for s, _, p, v in q.tolist()])
    out, now, velocity = [], 0, -1
    for t, kind, p, v in events:
        while t > now:
            k = min(t - now, 100)
            out.append(TIME_SHIFT + k - 1)
            now += k
        if kind:
            if v != velocity:
                out.append(VELOCITY + v)
                velocity = v
            out.append(NOTE_ON + p)
        else:
            out.append(NOTE_OFF + p)
    return out if n else []


@settings(max_examples=150, deadline=None)
@given(notes_strategy)
def test_vectorised_encoder_matches_the_event_loop(raw):
    q = quantize_notes(as_float_notes(raw))
    assert encode_quantized(q) == encode_loop(q)


@settings(max_examples=100, deadline=None)
@given(notes_strategy)
def test_non_overlapping_notes_survive_exactly(raw):
    # one note per pitch at a time -> nothing to truncate: times come back exactly
    raw = sorted(raw)
    last_end, kept = {}, []
    for s, d, p, v in raw:
        if s >= last_end.get(p, -1):
            kept.append((s, d, p, v))
            last_end[p] = s + d
    notes = as_float_notes(kept)
    out = tok.decode_notes(tok.encode_notes(notes))
    order = np.lexsort((notes[:, 2], notes[:, 0]))
    exp = notes[order]
    assert np.allclose(out[:, :3], exp[:, :3])
    assert np.array_equal(out[:, 3].astype(int) // 4, exp[:, 3].astype(int) // 4)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, N_EVENTS + 2), max_size=300))
def test_decode_accepts_any_sequence(ids):
    notes = tok.decode_notes(ids)  # never raises
    assert (notes[:, 1] > notes[:, 0]).all()
    again = tok.encode_notes(notes)
    assert np.array_equal(tok.decode_notes(again), notes)


def test_overlapping_same_pitch_notes_end_at_the_new_strike():
    notes = np.array([[0.0, 1.0, 60, 64], [0.5, 1.5, 60, 64]])
    out = tok.decode_notes(tok.encode_notes(notes))
    assert out[:, :3].tolist() == [[0.0, 0.5, 60], [0.5, 1.5, 60]]


def test_odd_sequences_decode():
    # note-off without note-on, note never released, long run of shifts
    ids = [NOTE_OFF + 40, VELOCITY + 20, NOTE_ON + 60] + [TIME_SHIFT + 99] * 5
    out = tok.decode_notes(ids)
    assert out.tolist() == [[0.0, 5.0, 60.0, 82.0]]
    assert tok.decode_notes([NOTE_ON + 60]).tolist() == [[0.0, 0.01, 60.0, 66.0]]
    assert len(tok.decode_notes([BOS, EOS, NOTE_ON + 1])) == 0  # eos stops


def test_sustain_pedal_extends_notes(tmp_path):
    path = make_midi(tmp_path / "p.mid", [(0.0, 0.5, 60, 80), (2.0, 2.2, 64, 80)],
                     pedal=[(0.2, 127), (1.5, 0)])
    notes = tok.notes(path)
    assert notes[0, 1] == pytest.approx(1.5)  # released at 0.5 under the pedal -> until 1.5
    assert notes[1, 1] == pytest.approx(2.2)  # after the pedal lifted: unchanged
    dry = PerformanceTokenizer(sustain=False).notes(path)
    assert dry[0, 1] == pytest.approx(0.5)


def test_sustained_note_struck_again_is_cut(tmp_path):
    path = make_midi(tmp_path / "p.mid", [(0.0, 0.3, 60, 80), (1.0, 1.2, 60, 80)], pedal=[(0.1, 127), (3.0, 0)])
    out = tok.decode_notes(tok.encode(path))
    assert out[:, :2].tolist() == [[0.0, 1.0], [1.0, 3.0]]


def test_absolute_times_and_file_round_trip(tmp_path):
    path = make_midi(tmp_path / "a.mid", [(3.25, 3.5, 72, 100), (4.0, 6.0, 48, 20)])
    ids = tok.encode(path)
    assert token_seconds(ids)[ids.index(NOTE_ON + 72)] == pytest.approx(3.25)
    pm = tok.decode(ids)
    out = tmp_path / "b.mid"
    pm.write(str(out))
    assert tok.encode(out) == ids


def test_drums_are_skipped_unless_asked(tmp_path):
    path = make_midi(tmp_path / "d.mid", [(0, 0.1, 36, 100), (0.5, 0.6, 38, 90)], drums=True)
    assert tok.encode(path) == []
    drum_tok = PerformanceTokenizer(drums=True)
    ids = drum_tok.encode(path)
    assert len(drum_tok.decode_notes(ids)) == 2
    assert drum_tok.decode(ids).instruments[0].is_drum


def test_to_dict_round_trip():
    t = PerformanceTokenizer(drums=True, sustain=False)
    t2 = PerformanceTokenizer.from_dict(t.to_dict())
    assert (t2.drums, t2.sustain, t2.vocab_size) == (True, False, 391)
    import seqkit.host

    assert seqkit.host.get_tokenizer_type("performance").resolve() is PerformanceTokenizer


def test_not_midi(tmp_path):
    bad = tmp_path / "x.mid"
    bad.write_bytes(b"hello, not midi")
    with pytest.raises(SeqkitError, match="not a readable MIDI"):
        tok.encode(bad)
    with pytest.raises(SeqkitError, match="no such MIDI"):
        tok.encode(tmp_path / "missing.mid")
    with pytest.raises(SeqkitError, match="is a folder, not a MIDI file"):  # was "no such MIDI file"
        tok.encode(tmp_path)


def test_every_fixture_tokenizes_or_fails_cleanly():
    folder = SHARED / "midi-fixtures"
    if not folder.is_dir():
        pytest.skip("../shared/data/midi-fixtures not present")
    files = [p for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi")]
    assert files
    ok = 0
    for p in files:
        try:
            ids = tok.encode(p)
        except SeqkitError as exc:
            assert "MIDI" in str(exc)
            continue
        ok += 1
        assert all(0 <= i < N_EVENTS for i in ids)
        assert np.array_equal(quantize_notes(tok.decode_notes(ids)), decode_quantized(ids))
    assert ok >= len(files) // 2


@pytest.mark.parametrize("program", [-1, 128, 500])
def test_program_outside_general_midi_is_refused(program, tmp_path):
    # was accepted: training went fine, then every `generate` died in mido's MIDI writer
    with pytest.raises(SeqkitError, match="program must be a General MIDI program 0..127"):
        PerformanceTokenizer(program=program)
    from seqkit_midi_transformer.midi import write_midi

    write_midi(PerformanceTokenizer(program=127).decode([60, 300, 188]), tmp_path / "x.mid")
