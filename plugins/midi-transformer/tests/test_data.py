import numpy as np
import pytest
import torch
from music_helpers import SHARED, make_midi, scale_notes
from seqkit_midi_transformer.augment import augment_performance, augment_tokens
from seqkit_midi_transformer.corpus import load_token_archive
from seqkit_midi_transformer.loaders import load_maestro, load_midi_folder
from seqkit_midi_transformer.tokenizer import BOS, EOS, PerformanceTokenizer
from seqkit_midi_transformer.windows import TokenWindows, collate

from seqkit import SeqkitError, TokenStreams

tok = PerformanceTokenizer()


def test_maestro_loader_splits_and_cache(maestro_folder, tmp_path):
    corpus = load_maestro(maestro_folder, progress=False)
    s = corpus.summary()
    assert (s["train"]["pieces"], s["validation"]["pieces"], s["test"]["pieces"]) == (3, 1, 1)
    first = corpus.split("train")[0].tokens
    assert first[0] == BOS and first[-1] == EOS and first.dtype == np.uint16
    cached = list((tmp_path / "cache" / "music").rglob("*.npz"))  # ids and seconds of music
    assert len(cached) == 5 and all("symusic" in p.parent.name for p in cached)
    assert corpus.seconds("validation") == pytest.approx(0.5 + 39 * 0.25 + 0.2)  # its last note's end
    again = load_maestro(maestro_folder, splits=("validation",), progress=False)
    assert len(again.pieces) == 1
    assert np.array_equal(again.pieces[0].tokens, corpus.split("validation")[0].tokens)
    # the archive round trip
    corpus.save(tmp_path / "c.npz")
    back = load_token_archive(tmp_path / "c.npz")
    assert back.summary() == s and np.array_equal(back.pieces[2].tokens, corpus.pieces[2].tokens)
    assert back.seconds() == pytest.approx(corpus.seconds())


def test_maestro_json_v3_layout(maestro_folder):
    import csv
    import json

    with open(maestro_folder / "maestro-v2.0.0.csv") as f:
        rows = list(csv.DictReader(f))
    (maestro_folder / "maestro-v2.0.0.csv").unlink()
    cols = {k: {str(i): r[k] for i, r in enumerate(rows)} for k in rows[0]}
    (maestro_folder / "maestro-v3.0.0.json").write_text(json.dumps(cols))
    assert len(load_maestro(maestro_folder, progress=False).pieces) == 5


def test_maestro_folder_without_metadata(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(SeqkitError, match="not a MAESTRO folder"):
        load_maestro(tmp_path / "m", progress=False)


def test_registry_lookup(maestro_folder):
    import seqkit.host

    corpus = seqkit.host.get_dataset("maestro")(maestro_folder, progress=False)
    assert corpus.n_tokens("train") > 0
    assert seqkit.host.get_dataset("midi-folder").task == "music"


def test_midi_folder_seeded_split_and_info_csv(tmp_path):
    (tmp_path / "f").mkdir()
    for i in range(10):
        make_midi(tmp_path / "f" / f"{i}.mid", scale_notes(8, seed=i))
    (tmp_path / "f" / "junk.mid").write_bytes(b"junk")
    corpus = load_midi_folder(tmp_path / "f", progress=False)
    s = corpus.summary()
    assert sum(v["pieces"] for v in s.values()) == 10
    assert s["train"]["pieces"] >= 7 and s["validation"]["pieces"] >= 1 and s["test"]["pieces"] >= 1
    assert len(corpus.failed) == 1
    (tmp_path / "f" / "info.csv").write_text("midi_filename,split\n0.mid,test\n1.mid,train\n2.mid,validation\n")
    s = load_midi_folder(tmp_path / "f", progress=False).summary()
    assert (s["train"]["pieces"], s["validation"]["pieces"], s["test"]["pieces"]) == (1, 1, 1)


def test_groove_info_csv_drums():
    folder = SHARED / "groove-midi-v1.0.0"
    if not folder.is_dir():
        pytest.skip("../shared/data/groove-midi-v1.0.0 not present")
    corpus = load_midi_folder(folder, tokenizer=PerformanceTokenizer(drums=True), limit=2, progress=False)
    assert set(p.split for p in corpus.pieces) == {"train", "validation", "test"}
    assert all(len(p.tokens) > 10 for p in corpus.pieces)


def test_augmentation_transposes_and_stretches():
    notes = np.array(scale_notes(30), dtype=float)
    ids = np.array(tok.encode_notes(notes))
    up = tok.decode_notes(augment_tokens(ids, 3, 1.0))
    assert np.array_equal(up[:, 2], tok.decode_notes(ids)[:, 2] + 3)
    slow = tok.decode_notes(augment_tokens(ids, 0, 1.05))
    base = tok.decode_notes(ids)
    assert np.allclose(slow[:, 0], np.round(base[:, 0] * 105) / 100, atol=1e-9)
    # out of range: left as is
    high = np.array(tok.encode_notes(np.array([[0, 1, 126, 64]])))
    assert np.array_equal(augment_tokens(high, 3), high)


def test_windows_cover_every_token_once():
    pieces = [np.arange(1, 11, dtype=np.uint16), np.arange(20, 24, dtype=np.uint16)]
    ds = TokenWindows(pieces, seq_len=4, random=False)
    targets = [t for i in range(len(ds)) for t in ds[i]["target"].tolist() if t != -100]
    assert targets == list(range(2, 11)) + [21, 22, 23]
    rnd = TokenWindows(pieces, seq_len=4, random=True, augment=True)
    batch = collate([rnd[i] for i in range(len(rnd))])
    assert batch["input"].shape == (len(rnd), 4) and batch["input"].dtype == torch.long


def test_token_streams_read_on_row_by_row_and_cover_an_epoch():
    pieces = [np.arange(100 * j, 100 * j + n, dtype=np.uint16) for j, n in enumerate([37, 50, 23, 61, 44])]
    ds = TokenStreams(pieces, seq_len=8, seed=1)
    batches = ds.batches(epoch=0, batch_size=3)
    assert len(batches) == ds.steps(3) == sum(map(len, pieces)) // (3 * 8)
    rows = [[ds[i] for i in b] for b in batches]
    for step in range(1, len(rows)):
        for b in range(3):  # row b reads on where it stopped: last target = next first input
            assert rows[step][b]["input"][0] == rows[step - 1][b]["target"][-1]
            assert torch.equal(rows[step][b]["input"][1:], rows[step][b]["target"][:-1])
    streams = [ds.stream(0, k) for k in range(3)]
    assert all(len(s) == len(batches) * 8 + 1 for s in streams)
    assert set(np.concatenate(streams) // 100) == set(range(5))  # every piece dealt in this epoch
    # whole pieces follow one another: wherever a stream jumps, a piece starts from its beginning
    for s in streams:
        s = s.astype(int)
        assert s[0] % 100 == 0 and np.all(s[1:][np.diff(s) != 1] % 100 == 0)
    # another epoch deals in another order; the same epoch is the same
    assert any(not np.array_equal(a, b) for a, b in zip(streams, [ds.stream(1, k) for k in range(3)]))
    again = TokenStreams(pieces, seq_len=8, seed=1)
    again.batches(epoch=0, batch_size=3)
    assert all(np.array_equal(again.stream(0, k), streams[k]) for k in range(3))


def test_token_streams_split_rows_between_ranks_and_augment_whole_pieces():
    pieces = [np.array([BOS] + [60, 188, 316] * 30 + [EOS], dtype=np.uint16) for _ in range(6)]
    ds = TokenStreams(pieces, seq_len=16, augment=augment_performance, seed=0)
    rank0 = ds.batches(epoch=2, batch_size=2, rank=0, world=2)
    rank1 = ds.batches(epoch=2, batch_size=2, rank=1, world=2)
    assert len(rank0) == len(rank1) and not set(sum(rank0, [])) & set(sum(rank1, []))
    x = torch.stack([ds[i]["input"] for i in rank1[0]])
    assert x.shape == (2, 16) and x[0, 0] == BOS  # a stream starts at a piece's beginning
    assert (x != torch.tensor(pieces[0][:16].astype(np.int64))).any()  # transposed or stretched


def test_token_streams_take_turns_among_groups():
    pieces = [np.arange(100 * j, 100 * j + 60, dtype=np.uint16) for j in range(8)]
    ds = TokenStreams(pieces, seq_len=5, seed=0, groups=2)
    batches = ds.batches(epoch=0, batch_size=2)
    assert ds.n_streams == 4 and len(batches) == 2 * ds.steps(4)
    rows = [torch.stack([ds[i]["input"] for i in b]) for b in batches]
    for t in range(2, len(rows)):  # step t continues step t - 2 (same group), row by row
        prev = torch.stack([ds[i]["target"] for i in batches[t - 2]])
        assert torch.equal(rows[t][:, 0], prev[:, -1])
    assert not set(rows[0][:, 0].tolist()) & set(rows[1][:, 0].tolist())  # the groups read other pieces


def test_unreadable_files_are_named_in_the_notice(tmp_path):
    (tmp_path / "f").mkdir()
    make_midi(tmp_path / "f" / "good.mid", scale_notes(8))
    (tmp_path / "f" / "junk.mid").write_bytes(b"junk")
    corpus = load_midi_folder(tmp_path / "f", progress=False)
    assert len(corpus.failed) == 1
    # was "junk.mid: the data is not a readable MIDI file": the file named twice, once as "the data"
    assert corpus.failed[0].startswith(str(tmp_path / "f" / "junk.mid") + " is not a readable MIDI file")


def test_a_folder_of_drums_without_drums_says_why_it_is_empty(tmp_path):
    import pretty_midi

    (tmp_path / "f").mkdir()
    pm = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(0, is_drum=True)
    kit.notes = [pretty_midi.Note(100, 36 + i % 3, i * 0.25, i * 0.25 + 0.1) for i in range(16)]
    pm.instruments.append(kit)
    pm.write(str(tmp_path / "f" / "beat.mid"))
    with pytest.raises(SeqkitError, match="drum tracks are skipped: pass --drums"):
        load_midi_folder(tmp_path / "f", progress=False)
    assert len(load_midi_folder(tmp_path / "f", tokenizer=PerformanceTokenizer(drums=True), progress=False).pieces) == 1
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "junk.mid").write_bytes(b"junk")
    with pytest.raises(SeqkitError, match="no readable MIDI files in"):
        load_midi_folder(tmp_path / "g", progress=False)


def test_info_csv_that_is_not_utf8_or_names_an_unknown_split(tmp_path):
    (tmp_path / "f").mkdir()
    for i in range(2):
        make_midi(tmp_path / "f" / f"{i}.mid", scale_notes(8, seed=i))
    info = tmp_path / "f" / "info.csv"
    info.write_bytes(b"midi_filename,split\n\xff\xfe.mid,train\n")  # was a UnicodeDecodeError traceback
    with pytest.raises(SeqkitError, match="info.csv is not a readable CSV"):
        load_midi_folder(tmp_path / "f", progress=False)
    info.write_text("midi_filename,split\n0.mid,valid\n1.mid,train\n")  # 0.mid was silently left out
    with pytest.raises(SeqkitError, match="unknown split 'valid'"):
        load_midi_folder(tmp_path / "f", progress=False)
    info.write_bytes("\ufeffmidi_filename,split\n0.mid,validation\n1.mid,train\n".encode())  # a BOM (Excel)
    s = load_midi_folder(tmp_path / "f", progress=False).summary()
    assert (s["train"]["pieces"], s["validation"]["pieces"]) == (1, 1)


def test_maestro_metadata_with_an_unknown_split(maestro_folder):
    meta = maestro_folder / "maestro-v2.0.0.csv"
    meta.write_text(meta.read_text().replace(",validation,", ",dev,", 1))
    with pytest.raises(SeqkitError, match="unknown split 'dev'"):
        load_maestro(maestro_folder, progress=False)


def test_a_split_with_no_files_says_so(tmp_path):
    from seqkit_midi_transformer.loaders import load_paths

    paths = [make_midi(tmp_path / f"{i}.mid", scale_notes(8, seed=i)) for i in range(2)]  # < 3 files: all train
    assert len(load_paths(paths, progress=False).split("train")) == 2
    with pytest.raises(SeqkitError, match="has no MIDI files in the split"):  # was "no readable MIDI files"
        load_paths(paths, splits=("validation",), source="sel", progress=False)


def test_bad_seqkit_workers_is_one_error(tmp_path, monkeypatch):
    make_midi(tmp_path / "a.mid", scale_notes(8))
    monkeypatch.setenv("SEQKIT_WORKERS", "two")  # was a ValueError traceback
    with pytest.raises(SeqkitError, match="SEQKIT_WORKERS must be a number of processes, not 'two'"):
        load_midi_folder(tmp_path, progress=False)
    monkeypatch.setenv("SEQKIT_WORKERS", "1")
    assert len(load_midi_folder(tmp_path, progress=False).pieces) == 1


@pytest.mark.parametrize("fraction", [0.5, 2.0, -0.1, float("nan")])
def test_midi_folder_split_fraction_is_checked(tmp_path, fraction):
    # 0.5 and up left no training file; nan was a ValueError traceback from the seeded split
    make_midi(tmp_path / "a.mid", scale_notes(8))
    with pytest.raises(SeqkitError, match="fraction must be at least 0 and below 0.5"):
        load_midi_folder(tmp_path, fraction=fraction, progress=False)
