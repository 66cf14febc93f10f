"""The lakh-clean-midi loader on a clean_midi folder built from real MIDI files."""

import json

import pytest

from seqkit import SeqkitError
from seqkit.host import get_dataset
from seqkit.testing import run_cli


def names(col):
    return sorted(s.key for s in col.songs)


def test_lists_every_readable_song_and_counts_the_unreadable(lakh_root):
    col = get_dataset("lakh-clean-midi")(lakh_root.parent)  # the parent of clean_midi works too
    assert col.n_files == 10  # notes.txt is not a MIDI file
    assert len(col.songs) == 8 and len(col.skipped) == 2
    assert sorted(p.name for p, _ in col.skipped) == ["Bizarre Love Triangle.mid", "Control.mid"]
    song = next(s for s in col.songs if s.title == "Funkytown")
    assert song.artist == "Lipps Inc" and 27 in song.programs and song.genre is None


def test_program_filter_keeps_songs_with_that_instrument(lakh_root):
    col = get_dataset("lakh-clean-midi")(lakh_root, program=25)  # steel-string acoustic guitar
    assert names(col) == ["Karaoke Band/Unexpected.mid"]
    col = get_dataset("lakh-clean-midi")(lakh_root, program=24)  # nylon
    assert names(col) == ["Lakh Artist/d6caebd1964d9e4a3c5ea59525230e2a.mid"]


def test_genres_from_csv_by_artist_or_path(lakh_root, tmp_path):
    col = get_dataset("lakh-clean-midi")(lakh_root, genres=lakh_root.parent / "genres.csv", genre="rock,disco")
    assert names(col) == ["Electric Light Orchestra/Mr. Blue Sky.mid", "Indochine/Les Yeux Revolvers.mid",
                          "Lipps Inc/Funkytown.mid", "The Doobie Brothers/What a Fool Believes.mid"]
    by_path = tmp_path / "paths.csv"
    by_path.write_text("path,genre\nclean_midi/Lipps Inc/Funkytown.mid,funk\n")
    col = get_dataset("lakh-clean-midi")(lakh_root, genres=by_path)
    assert [(s.title, s.genre) for s in col.songs] == [("Funkytown", "funk")]


def test_binary_genre_file_is_one_error_and_a_bom_is_read(lakh_root, tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(SeqkitError, match="is not UTF-8 text"):
        get_dataset("lakh-clean-midi")(lakh_root, genres=junk)
    r = run_cli(["compressive", "lakh", str(lakh_root), "--genres", str(junk)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    bom = tmp_path / "bom.csv"
    bom.write_text("\ufeffpath,genre\nclean_midi/Lipps Inc/Funkytown.mid,funk\n", encoding="utf-8")
    col = get_dataset("lakh-clean-midi")(lakh_root, genres=bom)
    assert [(s.title, s.genre) for s in col.songs] == [("Funkytown", "funk")]


def test_per_genre_sampling_is_seeded_and_skips_unreadable(lakh_root):
    load = get_dataset("lakh-clean-midi")
    csv = lakh_root.parent / "genres.csv"
    a = load(lakh_root, genres=csv, per_genre=2, seed=3)
    assert a.by_genre() == {"disco": 1, "pop": 2, "rock": 2}
    assert names(a) == names(load(lakh_root, genres=csv, per_genre=2, seed=3))
    picks = {tuple(names(load(lakh_root, genres=csv, per_genre=1, seed=s))) for s in range(8)}
    assert len(picks) > 1  # the seed matters
    for col in (a,):
        assert all("Bizarre" not in s.key and "Control" not in s.key for s in col.songs)


def test_bad_inputs_are_clear_errors(lakh_root, tmp_path):
    load = get_dataset("lakh-clean-midi")
    with pytest.raises(SeqkitError, match="not a folder"):
        load(tmp_path / "nope")
    with pytest.raises(SeqkitError, match="need a genre CSV"):
        load(lakh_root, per_genre=2)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,style\nx,y\n")
    with pytest.raises(SeqkitError, match="header"):
        load(lakh_root, genres=bad)
    with pytest.raises(SeqkitError, match="no MIDI files"):
        load(tmp_path)


def test_cli_lists_songs_as_json(lakh_root):
    r = run_cli(["compressive", "lakh", str(lakh_root), "--program", "25", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["songs"][0]["title"] == "Unexpected" and out["skipped"] == 2
    r = run_cli(["compressive", "lakh", str(lakh_root), "--per-genre", "2"])
    assert r.exit_code == 2 and "Error: genre filters need a genre CSV" in r.output
