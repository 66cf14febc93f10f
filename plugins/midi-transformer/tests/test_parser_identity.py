"""The performance tokens of the symusic reader are those of the pretty_midi reader it replaced,
on the real MIDI files in ../shared/data: every fixture, every Groove and Nottingham file and a
deterministic sample of MAESTRO v2 (every 40th file of its metadata, validation files included).
The full comparison (all of MAESTRO too) is benchmarks/music_parser_identity.py; its result and
the reason for each known difference are in docs/music.md ("Which library does what")."""

import csv

import pytest
from music_helpers import SHARED
from seqkit_midi_transformer.midi_read import load_pretty_midi
from seqkit_midi_transformer.tokenizer import PerformanceTokenizer

from seqkit import SeqkitError

# file (relative to ../shared/data) -> why its tokens differ (see docs/music.md)
KNOWN = {
    "midi-fixtures/music21/test04.mid": "tempo events outside the first track (pretty_midi ignores them)",
    "maestro-v2.0.0/2009/MIDI-Unprocessed_03_R1_2009_03-08_ORIG_MID--AUDIO_03_R1_2009_03_R1_2009_08_WAV.midi":
        "a key struck again before its note-off (symusic drops the key's last note; train split)",
    "groove-midi-v1.0.0/drummer1/session1/78_jazz-fast_290_beat_4-4.mid":
        "a note-on left without its own note-off (symusic drops the key's last note)",
    "groove-midi-v1.0.0/drummer1/session2/1_latin-chacarera_157_beat_3-4.mid":
        "two note-ons of one key and a note-off on one tick (pretty_midi drops both notes)",
}


def _files(folder):
    return sorted(p for p in (SHARED / folder).rglob("*") if p.suffix.lower() in (".mid", ".midi"))


def _maestro_sample():
    root = SHARED / "maestro-v2.0.0"
    with open(root / "maestro-v2.0.0.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [root / r["midi_filename"] for r in rows[::40]]


def _tokens(tok, read, path):
    try:
        return tok.encode(read(path))
    except SeqkitError:
        return "unreadable"


@pytest.mark.parametrize("folder", ["midi-fixtures", "groove-midi-v1.0.0", "nottingham", "maestro-v2.0.0"])
def test_symusic_tokens_are_pretty_midis(folder):
    if not (SHARED / folder).is_dir():
        pytest.skip(f"{SHARED / folder} is absent (the real data lives in ../shared/data)")
    files = _maestro_sample() if folder.startswith("maestro") else _files(folder)
    assert files
    tok = PerformanceTokenizer(drums=folder.startswith("groove"))  # Groove is drums only
    same, differ = 0, []
    for path in files:
        old = _tokens(tok, load_pretty_midi, path)
        new = _tokens(tok, lambda p: p, path)
        name = path.relative_to(SHARED).as_posix()
        if old == new:
            assert name not in KNOWN, f"{name} no longer differs: take it off KNOWN"
            same += 1
        else:
            differ.append(name)
    assert [d for d in differ if d not in KNOWN] == []
    assert same >= len(files) - len(differ) and same > 0
