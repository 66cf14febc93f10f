"""The shipped names models on ONNX Runtime give torch's numbers (seqkit.load_for_inference)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")

from seqkit import load_checkpoint, load_for_inference  # noqa: E402
from seqkit.generation import next_token_probs  # noqa: E402
from seqkit.generation.inference import onnx_files  # noqa: E402

SHIPPED = Path(__import__("seqkit_names").__file__).parent / "checkpoints"
GENERATORS = ["rnn", "lstm", "gru", "transformer"]
NAMES = [("Papadopoulos", "Greek"), ("Smith", "English"), ("Nguyen", "Vietnamese"), ("O'Neill", "Irish"),
         ("Abdulov", "Russian"), ("Xi", "Chinese"), ("Castellanos-Rivera", "Spanish"), ("Zeller", "German")]


def test_every_shipped_checkpoint_has_its_graphs():
    for path in sorted(SHIPPED.glob("*.json")):
        meta = json.loads(path.read_text())
        files = onnx_files(path, meta)
        assert files, f"{path.name} has no ONNX graphs"
        weights = (SHIPPED / meta["weights"]).stat().st_size
        for f in files.values():  # float16 storage: about the size of the weights
            assert f.stat().st_size < 1.1 * weights + 20_000


@pytest.mark.parametrize("arch", GENERATORS)
def test_next_char_probabilities_match_torch_at_every_step(arch):
    path = SHIPPED / f"{arch}.json"
    ck = load_for_inference(path)
    assert ck.backend == "onnx"
    model = load_checkpoint(path).model
    tok, countries = ck.tokenizer, ck.extra["countries"]
    for name, country in NAMES:
        ids = np.array([tok.encode(name, add_bos=True, add_eos=True)])
        cond = np.array([countries.index(country)])
        cache = model.new_cache() if hasattr(model, "new_cache") else None
        state = None
        for t in range(ids.shape[1]):
            with torch.no_grad():
                logits, cache = model(torch.as_tensor(ids[:, t: t + 1]), cond=torch.as_tensor(cond), cache=cache)
            got, state = ck.model(ids[:, t: t + 1], cond=cond, cache=state)
            want = logits[:, -1].softmax(-1).numpy()
            assert np.abs(next_token_probs(got[:, -1], 1.0) - want).max() < 1e-4, (arch, name, t)


def test_classifier_probabilities_match_torch():
    path = SHIPPED / "classifier.json"
    ck = load_for_inference(path)
    assert ck.backend == "onnx"
    model = load_checkpoint(path).model
    for name, _ in NAMES:
        ids = np.array([ck.tokenizer.encode(name)])
        got = ck.model.run(idx=ids)["logits"]
        with torch.no_grad():
            want = model(torch.as_tensor(ids)).softmax(-1).numpy()
        assert np.abs(next_token_probs(got, 1.0) - want).max() < 1e-4


@pytest.mark.parametrize("arch", GENERATORS)
def test_greedy_names_are_identical(arch, monkeypatch):
    from seqkit_names.generator import load_generator, sample

    onnx_gen = load_generator(arch)
    monkeypatch.setenv("SEQKIT_BACKEND", "torch")
    torch_gen = load_generator(arch)
    assert (onnx_gen.backend, torch_gen.backend) == ("onnx", "torch")
    conds = [c for c in range(len(onnx_gen.countries)) for _ in range(3)]
    starts = ["", "K", "Ma"] * len(onnx_gen.countries)
    got = sample(onnx_gen, conds, starts, temperature=0.0, rng=None)
    want = sample(torch_gen, conds, starts, temperature=0.0, rng=None)
    assert got == want
    assert sum(n is not None for n in got) > len(got) // 2


def _run(args, **env):
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "seqkit", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)


def test_front_door_runs_without_torch():
    r = _run(["names", "--country", "Greek", "-n", "3", "--seed", "1", "--json"])
    assert r.returncode == 0, r.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")]
    assert "onnxruntime" in imported
    assert not [m for m in imported if m == "torch" or m.startswith("torch.")]
    out = json.loads(r.stdout)
    assert out["backend"] == "onnx" and len(out["results"]) == 3
    again = json.loads(_run(["names", "--country", "Greek", "-n", "3", "--seed", "1", "--json"]).stdout)
    assert again["results"] == out["results"]  # same seed, same names
    forced = _run(["names", "--country", "Greek", "-n", "3", "--json"], SEQKIT_BACKEND="torch")
    assert json.loads(forced.stdout)["backend"] == "torch"


@pytest.mark.parametrize("arch", GENERATORS + ["classifier"])
def test_train_exports_the_graphs(arch, tiny_models, monkeypatch):
    path = tiny_models[arch]
    ck = load_for_inference(path)
    assert ck.backend == "onnx"
    if arch == "classifier":
        return
    from seqkit_names.generator import load_generator, sample

    conds = [0, 1, 0, 1]
    onnx_names = sample(load_generator(str(path)), conds, ["", "", "K", "V"], temperature=0.0)
    monkeypatch.setenv("SEQKIT_BACKEND", "torch")
    assert onnx_names == sample(load_generator(str(path)), conds, ["", "", "K", "V"], temperature=0.0)
