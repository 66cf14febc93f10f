"""Learned conditioning (``music train --condition``, ``music generate --composer``, ``music
composers``): labels, the zero-initialised embedding grown onto a model, the checkpoint's values,
and generation with them on ONNX Runtime and torch."""

from __future__ import annotations

import csv
import importlib.util
import json

import numpy as np
import pytest
import seqkit_midi_transformer.plugin as plugin
import torch
from music_helpers import make_midi, scale_notes
from seqkit_midi_transformer import conditioning
from seqkit_midi_transformer.model import PRESETS, MusicTransformer, MusicTransformerConfig

from seqkit import SeqkitError
from seqkit.testing import run_cli

COND = {"kind": "composer", "values": ["Franz Liszt", "Franz Schubert", "Frédéric Chopin", "other"]}


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin])


@pytest.mark.parametrize("value, want", [("Chopin", 3), ("frederic chopin", 3), ("FRÉDÉRIC CHOPIN", 3),
                                         ("schubert", 2), ("other", 4)])
def test_values_resolve_by_name_or_one_word(value, want):
    assert conditioning.resolve(value, COND, "m") == want


@pytest.mark.parametrize("value, words", [("Franz", "fits Franz Liszt, Franz Schubert"),
                                          ("Chopn", "closest: Frédéric Chopin"),
                                          ("Mozart", "is not one of m's 4 values")])
def test_a_wrong_value_is_one_error_with_close_matches(value, words):
    with pytest.raises(SeqkitError, match=words):
        conditioning.resolve(value, COND, "m")


def test_vocabulary_pools_rare_labels():
    labels = {f"a{i}": "A" for i in range(12)} | {f"b{i}": "B" for i in range(3)} | {"v": "C"}
    values = conditioning.vocabulary(labels, [n for n in labels if n != "v"])
    assert values == ["A", "other"]
    ids = conditioning.ids(labels, values)
    assert ids["a0"] == 1 and ids["b0"] == ids["v"] == 2


def test_a_grown_embedding_starts_as_the_model_it_grew_from():
    torch.manual_seed(0)
    model = MusicTransformer(MusicTransformerConfig(vocab_size=50, **{**PRESETS["tiny"], "position": "rope",
                                                                       "max_len": 32})).eval()
    idx = torch.randint(0, 50, (3, 20))
    before, _ = model(idx)
    conditioning.grow_embedding(model, 4)
    assert model.config.n_cond == 5 and model.cond.weight.abs().sum() == 0
    after, _ = model(idx, cond=torch.tensor([1, 2, 4]))
    assert torch.equal(before, after)
    with torch.no_grad():
        model.cond.weight[2] += 1.0
    moved, _ = model(idx, cond=torch.tensor([1, 2, 4]))
    assert torch.equal(moved[0], before[0]) and not torch.allclose(moved[1], before[1])


@pytest.fixture(scope="module")
def folder_model(tmp_path_factory):
    """A tiny model trained on two folders of different registers (jazz: low, rock: an octave up),
    conditioned on the folder, with its ONNX graph."""
    data = tmp_path_factory.mktemp("genres")
    for genre, shift in (("jazz", -12), ("rock", 12)):
        for i in range(5):
            notes = [(s, e, p + shift, v) for s, e, p, v in scale_notes(40, seed=i)]
            (data / genre).mkdir(exist_ok=True)
            make_midi(data / genre / f"p{i}.mid", notes)
    out = tmp_path_factory.mktemp("run")
    r = cli("music", "train", "--data", data, "--condition", "folder", "--preset", "tiny", "--set", "position=rope",
            "--seq-len", 64, "--batch-size", 8, "--steps", 150, "--lr", 5e-3, "--no-augment", "--out", out / "run",
            "--save", out / "genres.json", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    return out / "genres.json"


def test_the_checkpoint_records_the_values(folder_model):
    meta = json.loads(folder_model.read_text())
    assert meta["extra"]["cond"] == {"kind": "folder", "values": ["jazz", "rock"]}
    assert meta["config"]["n_cond"] == 3
    r = cli("music", "composers", "--model", folder_model, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"model": "genres", "kind": "folder", "values": ["jazz", "rock"]}
    r = cli("music", "composers", "--model", folder_model)
    assert r.stdout.split() == ["genres:", "2", "folder", "values", "(music", "generate", "--composer", "NAME)",
                                "jazz", "rock"]


def _nll(model, ids, cond) -> float:
    logits, _ = model(torch.tensor([ids[:-1]]), cond=torch.tensor([cond]))
    return float(torch.nn.functional.cross_entropy(logits[0], torch.tensor(ids[1:])))


def test_the_label_is_learned_and_the_onnx_graph_takes_it(folder_model):
    """Each folder's pieces are likelier under their own label (the gap the docs measure on
    MAESTRO), and the ONNX step graph gives torch's logits for each label."""
    from seqkit import load_checkpoint, load_for_inference

    ck = load_checkpoint(folder_model)
    model = ck.model.eval()
    data = folder_model.parent.parent / "genres0"
    with torch.no_grad():
        for own, other, genre in ((1, 2, "jazz"), (2, 1, "rock")):
            ids = ck.tokenizer.encode(data / genre / "p1.mid", add_bos=True)[:64]
            assert _nll(model, ids, own) < _nll(model, ids, other)
    if not importlib.util.find_spec("onnxruntime"):
        return
    onnx = load_for_inference(folder_model, "cpu")
    assert onnx.backend == "onnx"
    for own, other, genre in ((1, 2, "jazz"), (2, 1, "rock")):
        ids = ck.tokenizer.encode(data / genre / "p2.mid", add_bos=True)[:64]
        nll = {}
        for c in (own, other):
            logits, _ = onnx.model(np.array([ids[:-1]]), cond=np.array([c]))
            logp = torch.as_tensor(np.asarray(logits[0], dtype=np.float32)).log_softmax(-1)
            nll[c] = -float(logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].mean())
            with torch.no_grad():
                assert abs(nll[c] - _nll(model, ids, c)) < 0.05  # the graph's int8 weights: close
        assert nll[own] < nll[other]


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_generate_with_a_label(backend, folder_model, tmp_path, monkeypatch):
    if backend == "onnx" and not importlib.util.find_spec("onnxruntime"):
        pytest.skip("onnxruntime is not installed")
    monkeypatch.setenv("SEQKIT_BACKEND", backend)
    got = {}
    for genre in ("jazz", "rock"):
        r = cli("music", "generate", "--model", folder_model, "--composer", genre.upper(), "--tokens", 60,
                "-n", 2, "--seed", 3, "--out", tmp_path / f"{genre}.mid", "--device", "cpu", "--json")
        assert r.exit_code == 0, r.output
        res = json.loads(r.stdout)
        assert res["backend"] == backend and res["composer"] == genre
        got[genre] = (tmp_path / f"{genre}_1.mid").read_bytes()
    assert got["jazz"] != got["rock"]  # same seed, another label: other music


def test_errors_are_one_line(folder_model, tmp_path):
    for args, words in [(("--model", folder_model, "--composer", "jaz"), "--composer 'jaz' is not one of genres's 2 "
                                                                          "values; closest: jazz"),
                        (("--composer", "Chopin"), "music-transformer is not conditioned on a composer")]:
        r = cli("music", "generate", *args, "--tokens", 4, "--out", tmp_path / "x.mid")
        assert r.exit_code == 2, r.output
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error:") and words in lines[0], r.stderr
    r = cli("music", "composers")
    assert r.exit_code == 2 and "is not conditioned" in r.stderr


def test_maestro_composers_and_bad_training_settings(maestro_folder, tmp_path):
    """MAESTRO's canonical_composer becomes the label; a flat folder has no folder labels."""
    rows = list(csv.DictReader(open(maestro_folder / "maestro-v2.0.0.csv")))
    for i, row in enumerate(rows):
        row["canonical_composer"] = "Frédéric Chopin" if i % 2 else "Franz Liszt"
    with open(maestro_folder / "maestro-v2.0.0.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    r = cli("music", "train", "--data", maestro_folder, "--condition", "composer", "--condition-only",
            "--preset", "tiny", "--set", "position=rope", "--seq-len", 32, "--batch-size", 2, "--steps", 2,
            "--out", tmp_path / "run", "--save", tmp_path / "c.json", "--device", "cpu")
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "c.json").read_text())
    assert meta["extra"]["cond"] == {"kind": "composer", "values": ["Franz Liszt", "Frédéric Chopin"]}
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        make_midi(flat / f"p{i}.mid", scale_notes(20, seed=i))
    for args, words in [(("--data", flat, "--condition", "folder"), "two or more subfolders"),
                        (("--data", flat, "--condition", "genre"), "--condition genre: give one of composer, folder"),
                        (("--data", flat, "--condition-only"), "--condition-only needs --condition")]:
        r = cli("music", "train", *args, "--preset", "tiny", "--steps", 1, "--out", tmp_path / "r2")
        assert r.exit_code == 2 and words in r.stderr, r.output
