"""Reading MIDI with symusic: pretty_midi's pairing and tempo arithmetic, seconds, cache keys."""

import io

import mido
import numpy as np
import pytest
from music_helpers import make_midi, scale_notes
from seqkit_midi_transformer.midi_read import (
    cut_seconds,
    end_seconds,
    load_midi,
    load_pretty_midi,
    music_seconds,
    score_tracks,
)
from seqkit_midi_transformer.tokenizer import PerformanceTokenizer, midi_notes

from seqkit import SeqkitError


def midi_bytes(events, tempos=(), tpq=480, tempo_track=0):
    """A type-1 file: (tick, type, pitch, velocity) note events; (tick, microseconds per beat)
    tempos on track ``tempo_track`` (0 = the note track)."""
    m = mido.MidiFile(ticks_per_beat=tpq)
    notes = mido.MidiTrack()
    m.tracks.append(notes)
    msgs = [(t, mido.Message(kind, note=p, velocity=v)) for t, kind, p, v in events]
    tempo_msgs = [(t, mido.MetaMessage("set_tempo", tempo=us)) for t, us in tempos]
    if tempo_track == 0:
        msgs += tempo_msgs
    else:
        other = mido.MidiTrack()
        m.tracks.append(other)
        last = 0
        for t, msg in sorted(tempo_msgs, key=lambda r: r[0]):
            other.append(msg.copy(time=t - last))
            last = t
    last = 0
    for t, msg in sorted(msgs, key=lambda r: r[0]):
        notes.append(msg.copy(time=t - last))
        last = t
    buf = io.BytesIO()
    m.save(file=buf)
    return buf.getvalue()


def both(data, **kw):
    tok = PerformanceTokenizer(**kw)
    return tok.encode(load_pretty_midi(data)), tok.encode(load_midi(data))


@pytest.mark.parametrize("events", [
    # one note-off ends every sounding note of the key (pretty_midi), not only the first (symusic)
    [(0, "note_on", 60, 80), (480, "note_on", 60, 81), (960, "note_off", 60, 0), (1440, "note_off", 60, 0)],
    # a note whose note-off is on its own tick is dropped
    [(0, "note_on", 60, 80), (0, "note_off", 60, 0), (480, "note_on", 62, 80), (960, "note_off", 62, 0)],
    # a note-off and a new note-on on one tick; a note never released
    [(0, "note_on", 60, 80), (480, "note_off", 60, 0), (480, "note_on", 60, 81), (960, "note_off", 60, 0),
     (1000, "note_on", 64, 70)],
    # note-on with velocity 0 is a note-off; a note-off with nothing sounding is skipped
    [(0, "note_on", 60, 80), (200, "note_on", 60, 0), (700, "note_on", 67, 0)],
])
def test_pairing_is_pretty_midis(events):
    old, new = both(midi_bytes(events))
    assert new == old and new


def test_a_note_on_left_without_its_own_note_off_is_a_known_difference():
    # two note-ons of a key, one note-off: pretty_midi ends both there; symusic pairs the note-off
    # with the first and drops the second (it never sees a note-off of its own)
    data = midi_bytes([(0, "note_on", 60, 80), (100, "note_on", 60, 90), (200, "note_off", 60, 0)])
    old, new = both(data)
    assert len(load_pretty_midi(data).instruments[0].notes) == 2
    assert sum(len(t.notes) for t in score_tracks(load_midi(data))) == 1
    assert old != new


def test_tempo_changes_give_pretty_midis_seconds_bit_for_bit():
    events = [(t, kind, 60 + (t // 97) % 12, 70) for t in range(0, 20000, 97)
              for kind in ("note_on",)] + [(t + 50, "note_off", 60 + (t // 97) % 12, 0) for t in range(0, 20000, 97)]
    tempos = [(0, 600000), (3001, 431234), (7777, 431234), (9000, 1000003), (15000, 250000)]
    data = midi_bytes(events, tempos, tpq=384)
    pm = load_pretty_midi(data)
    a = np.sort(np.array([n.start for i in pm.instruments for n in i.notes]))
    b = np.sort(score_tracks(load_midi(data))[0].notes[:, 0])
    assert np.array_equal(a, b)  # exactly, not approximately
    old, new = both(data)
    assert old == new
    assert end_seconds(load_midi(data)) == pytest.approx(pm.get_end_time())


def test_tempo_outside_the_first_track_is_read_unlike_pretty_midi():
    # pretty_midi reads tempo events of track 0 only; symusic reads them wherever they are
    data = midi_bytes([(0, "note_on", 60, 80), (960, "note_off", 60, 0)], [(0, 1000000)], tempo_track=1)
    assert load_pretty_midi(data).instruments[0].notes[0].end == pytest.approx(1.0)  # 120 bpm
    assert score_tracks(load_midi(data))[0].notes[0, 1] == pytest.approx(2.0)  # 60 bpm


def test_sustain_pedal_and_seconds(tmp_path):
    path = make_midi(tmp_path / "p.mid", scale_notes(20), pedal=[(1.0, 100), (2.5, 0), (3.0, 90)])
    score = load_midi(path)
    assert np.array_equal(midi_notes(score), midi_notes(load_pretty_midi(path)))
    assert music_seconds(score) == pytest.approx(max(e for _, e, _, _ in scale_notes(20)))
    assert end_seconds(score) == pytest.approx(load_pretty_midi(path).get_end_time())


def test_cut_seconds(tmp_path):
    path = make_midi(tmp_path / "p.mid", scale_notes(20))
    notes = midi_notes(cut_seconds(load_midi(path), 2.0))
    assert len(notes) and notes[:, 0].max() < 2.0 and notes[:, 1].max() <= 2.0 + 1e-3


def test_unreadable_files_fail_with_one_line(tmp_path):
    (tmp_path / "bad.mid").write_bytes(b"MThd not really")
    (tmp_path / "empty.mid").write_bytes(b"")
    for name in ("bad.mid", "empty.mid"):
        with pytest.raises(SeqkitError, match="is not a readable MIDI file"):
            load_midi(tmp_path / name)
    with pytest.raises(SeqkitError, match="no such MIDI file"):
        load_midi(tmp_path / "missing.mid")
    with pytest.raises(SeqkitError, match="is a folder"):
        load_midi(tmp_path)


def test_cache_keys_name_the_parser():
    import symusic

    assert f"symusic{symusic.__version__}" in PerformanceTokenizer().cache_key()
