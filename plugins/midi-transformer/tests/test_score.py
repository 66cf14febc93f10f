"""`seqkit music score`: per-piece features by MusPy's definitions and the set comparison."""

import json
import math

import numpy as np
import pytest
import seqkit_midi_transformer.plugin as plugin
from music_helpers import SHARED, make_midi, scale_notes
from seqkit_midi_transformer import features as F

from seqkit.testing import run_cli


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin])


def feats(notes, beat=0.5, end=None):
    return F.piece_features(np.array(notes, dtype=float), beat, end)


# -- hand-computed cases --------------------------------------------------------------------------

def test_c_major_scale_by_hand():
    # C D E F G A B C' as quarter notes at 120 bpm (0.5 s each), velocities 40 and 80 alternately
    pitches = [60, 62, 64, 65, 67, 69, 71, 72]
    notes = [(0.5 * i, 0.5 * i + 0.5, p, 40 if i % 2 else 80) for i, p in enumerate(pitches)]
    f = feats(notes)
    # pitch classes: C twice, six others once -> p = 2/8, 1/8 x 6
    assert f["pitch_class_entropy"] == pytest.approx(-(0.25 * math.log2(0.25) + 6 * 0.125 * math.log2(0.125)))
    assert f["scale_consistency"] == 1.0 and f["in_key_rate"] == 1.0
    assert f["key"] in ("C major", "A minor")
    assert f["pitch_range"] == 12
    assert f["polyphony"] == pytest.approx(1.0)
    assert f["notes_per_second"] == pytest.approx(8 / 4.0)
    assert f["median_ioi"] == pytest.approx(0.5)
    assert f["velocity_spread"] == pytest.approx(20.0)
    # beats 0..8 (the last note ends on beat 8, which MusPy counts): every beat sounds
    assert f["empty_beat_rate"] == 0.0
    hist = f["ioi_histogram"]
    assert sum(hist) == pytest.approx(1.0) and hist[IOI_BIN_OF(0.5)] == 1.0


def IOI_BIN_OF(x):
    return int(np.searchsorted(F.IOI_EDGES, x, side="right")) - 1


def test_polyphony_empty_beats_and_out_of_scale_notes_by_hand():
    # a C major triad for 1 s, silence, then C# alone for 0.5 s from 3.0 s
    notes = [(0, 1, 60, 64), (0, 1, 64, 64), (0, 1, 67, 64), (3.0, 3.5, 61, 64)]
    f = feats(notes)
    assert f["polyphony"] == pytest.approx((3 * 1 + 0.5) / 1.5)
    # beats of 0.5 s: 0..7 (end 3.5 s -> floor 7); sounding: 0, 1, 2 (the triad ends on beat 2), 6, 7
    assert f["empty_beat_rate"] == pytest.approx(1 - 5 / 8)
    assert f["scale_consistency"] == pytest.approx(3 / 4)  # no major or minor scale has C, C#, E and G
    assert f["pitch_range"] == 7


def test_scale_consistency_is_the_best_of_24_scales():
    # the 12 pitch classes once each: any major or minor scale holds 7 of them
    notes = [(0.25 * i, 0.25 * i + 0.2, 60 + i, 64) for i in range(12)]
    f = feats(notes)
    assert f["scale_consistency"] == pytest.approx(7 / 12)
    assert f["in_key_rate"] == pytest.approx(7 / 12)
    assert f["pitch_class_entropy"] == pytest.approx(math.log2(12))


def test_empty_piece_has_no_features():
    assert F.piece_features(np.zeros((0, 4))) is None


def test_one_note_piece_is_json_safe():
    f = F.json_safe(feats([(1.0, 1.0, 60, 64)]))  # a zero-length note: no polyphony, no span
    assert f["polyphony"] is None and f["notes_per_second"] is None and f["pitch_range"] == 0
    json.dumps(f, allow_nan=False)


def test_overlap_and_kl_of_equal_and_of_distant_samples():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 200)
    oa, kl = F.overlap_and_kl(a, a)
    assert oa == pytest.approx(1.0, abs=1e-3) and kl == pytest.approx(0.0, abs=1e-9)
    oa, kl = F.overlap_and_kl(a, rng.normal(0, 1, 200))
    assert oa > 0.85 and kl < 0.1
    oa, kl = F.overlap_and_kl(a, a + 10)
    assert oa < 0.01 and kl > 5
    oa, kl = F.overlap_and_kl(np.ones(5), np.ones(5))  # no spread: a small bandwidth, not a crash
    assert oa == pytest.approx(1.0, abs=1e-3)


# -- against MusPy itself ---------------------------------------------------------------------------

MUSPY_METRICS = ("pitch_class_entropy", "scale_consistency", "polyphony", "pitch_range", "empty_beat_rate")


def _random_piece(path, seed):
    """Random notes with chords and rests, no key struck twice while it sounds (readers differ there)."""
    rng = np.random.default_rng(seed)
    notes, t, free = [], 0.0, {}
    while len(notes) < 120:
        for _ in range(int(rng.integers(1, 4))):
            p = int(rng.integers(36, 96))
            if free.get(p, 0) <= t:
                d = float(rng.choice([0.125, 0.25, 0.5, 1.0]))
                notes.append((t, t + d, p, int(rng.integers(20, 120))))
                free[p] = t + d + 0.01
        t += float(rng.choice([0.125, 0.25, 0.5, 1.5]))
    return make_midi(path, notes)


def _muspy_cases(tmp_path):
    files = [_random_piece(tmp_path / f"r{i}.mid", i) for i in range(3)]
    maestro = sorted((SHARED / "maestro-v2.0.0" / "2004").glob("*.midi"))[:2]
    return files + maestro


def test_features_equal_muspys_on_files(tmp_path):
    muspy = pytest.importorskip("muspy", reason="muspy is not installed (pip install muspy==0.5.0)")
    for path in _muspy_cases(tmp_path):
        notes, beat, end = F.read_piece(path, sustain=False)  # MusPy reads notes without the pedal
        ours = F.piece_features(notes, beat, end)
        music = muspy.read_midi(str(path))
        assert ours["notes"] == sum(len(t.notes) for t in music.tracks if not t.is_drum)
        for name in MUSPY_METRICS:
            assert ours[name] == pytest.approx(getattr(muspy, name)(music), rel=1e-9, abs=1e-12), (path.name, name)
        best_key = max(muspy.pitch_in_scale_rate(music, r, m) for r in range(12) for m in ("major", "minor"))
        assert ours["in_key_rate"] <= best_key + 1e-12


# -- the command ------------------------------------------------------------------------------------

@pytest.fixture
def two_sets(tmp_path):
    gen, real = tmp_path / "gen", tmp_path / "real"
    gen.mkdir()
    real.mkdir()
    for i in range(4):
        make_midi(gen / f"g{i}.mid", scale_notes(30, seed=i))
        make_midi(real / f"r{i}.mid", scale_notes(30, step=0.4, seed=10 + i))
    return gen, real


def test_score_json_compares_every_feature(two_sets):
    gen, real = two_sets
    r = cli("music", "score", gen, "--reference", real, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["samples"]["pieces"] == 4 and res["reference"]["pieces"] == 4
    assert set(res["comparison"]) == set(F.FEATURES) | set(F.VECTOR_FEATURES)
    for name in F.FEATURES:
        c = res["comparison"][name]
        assert 0 <= c["oa"] <= 1 and c["kl"] >= 0 and 0 <= c["mgeval_oa"] <= 1
    # the reference's notes are 0.4 s apart, the samples' 0.25 s: notes per second tell them apart
    nps = res["comparison"]["notes_per_second"]
    assert nps["generated_mean"] == pytest.approx(4.0, rel=0.05) and nps["real_mean"] == pytest.approx(2.5, rel=0.05)
    assert nps["oa"] < 0.2


def test_score_text_table_and_features_only(two_sets):
    gen, real = two_sets
    r = cli("music", "score", gen / "g0.mid", gen / "g1.mid", "--reference", real)
    assert r.exit_code == 0, r.output
    assert "samples: 2 pieces" in r.stdout and "MGEval OA" in r.stdout and "pitch_class_entropy" in r.stdout
    r = cli("music", "score", gen, "--seconds", 2, "--limit", 3)
    assert r.exit_code == 0, r.output
    assert "samples: 3 pieces (the first 3 of 4), first 2 s of each" in r.stdout


def test_score_reference_maestro_split(two_sets, maestro_folder):
    gen, _ = two_sets
    r = cli("music", "score", gen, "--reference", maestro_folder, "--split", "train", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["reference"]["pieces"] == 3 and "MAESTRO train" in res["reference"]["source"]
    r = cli("music", "score", gen, "--reference", maestro_folder)  # test: one piece, too few to compare
    assert r.exit_code == 2 and r.stderr.count("Error:") == 1 and "two or more" in r.stderr


def test_score_reports_an_empty_piece(two_sets):
    gen, real = two_sets
    make_midi(gen / "silent.mid", [])
    r = cli("music", "score", gen, "--reference", real, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["samples"]["pieces"] == 4 and res["samples"]["empty"] == [str(gen / "silent.mid")]
    (gen / "broken.mid").write_bytes(b"MThd not really")
    r = cli("music", "score", gen, "--reference", real)
    assert r.exit_code == 0, r.output
    assert "samples: 4 pieces" in r.stdout and "broken.mid (unreadable:" in r.stdout


@pytest.mark.parametrize("case", ["empty folder", "only silence", "missing", "bad split"])
def test_score_errors_are_one_line(tmp_path, case):
    folder = tmp_path / "f"
    folder.mkdir()
    args = [folder]
    if case == "only silence":
        make_midi(folder / "silent.mid", [])
    elif case == "missing":
        args = [tmp_path / "nope"]
    elif case == "bad split":
        make_midi(folder / "a.mid", scale_notes(8))
        args = [folder, "--split", "dev"]
    r = cli("music", "score", *args)
    assert r.exit_code == 2, r.output
    assert r.stderr.count("Error:") == 1 and "Traceback" not in r.output
    expected = {"empty folder": "no MIDI files", "only silence": "has a note", "missing": "does not exist",
                "bad split": "--split must be"}[case]
    assert expected in r.stderr
