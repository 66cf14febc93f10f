import numpy as np
import pytest
import torch
from music_helpers import SHARED, make_midi, scale_notes
from seqkit_midi_transformer.data import (
    TokenWindows,
    augment_tokens,
    collate,
    load_maestro,
    load_midi_folder,
    load_token_archive,
)
from seqkit_midi_transformer.tokenizer import BOS, EOS, PerformanceTokenizer

from seqkit.errors import SeqkitError

tok = PerformanceTokenizer()


def test_maestro_loader_splits_and_cache(maestro_folder, tmp_path):
    corpus = load_maestro(maestro_folder, progress=False)
    s = corpus.summary()
    assert (s["train"]["pieces"], s["validation"]["pieces"], s["test"]["pieces"]) == (3, 1, 1)
    first = corpus.split("train")[0].tokens
    assert first[0] == BOS and first[-1] == EOS and first.dtype == np.uint16
    cached = list((tmp_path / "cache" / "music").rglob("*.npy"))
    assert len(cached) == 5
    again = load_maestro(maestro_folder, splits=("validation",), progress=False)
    assert len(again.pieces) == 1
    assert np.array_equal(again.pieces[0].tokens, corpus.split("validation")[0].tokens)
    # the archive round trip
    corpus.save(tmp_path / "c.npz")
    back = load_token_archive(tmp_path / "c.npz")
    assert back.summary() == s and np.array_equal(back.pieces[2].tokens, corpus.pieces[2].tokens)


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
    import seqkit

    corpus = seqkit.get_dataset("maestro")(maestro_folder, progress=False)
    assert corpus.n_tokens("train") > 0
    assert seqkit.get_dataset("midi-folder").task == "music"


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
