"""The shipped numerals models on ONNX Runtime give torch's numbers (seqkit.load_for_inference)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")

from seqkit import load_checkpoint  # noqa: E402
from seqkit.generation import next_token_probs  # noqa: E402

ARCHS = ["gru", "transformer"]


def _numbers(count, seed=0):
    rng = random.Random(seed)
    return [rng.choice([-1, 1, 1, 1]) * rng.randrange(10 ** rng.randint(0, 14)) for _ in range(count)]


@pytest.mark.parametrize("arch", ARCHS)
def test_next_word_probabilities_match_torch_at_every_step(arch):
    from seqkit_numerals.data import source_text
    from seqkit_numerals.numbers import reference_words
    from seqkit_numerals.translate import Translator

    tr = Translator.load(arch)
    assert tr.backend == "onnx"
    model = load_checkpoint(tr.path).model
    for digits in (1, 4, 9, 12, 15):  # one batch per length: the graphs read unpadded rows
        numbers = [n for n in _numbers(400, digits) if len(source_text(n)) == digits][:6]
        src = np.array([tr.src_tok.encode(source_text(n)) for n in numbers])
        tgts = [tr.tgt_tok.encode(reference_words(n, tr.lang), add_bos=True, add_eos=True) for n in numbers]
        length = max(map(len, tgts))
        tgt = np.array([t + [tr.tgt_tok.eos_id] * (length - len(t)) for t in tgts])
        memory, state = tr.model.start(src)
        with torch.no_grad():
            tstate = model.start(torch.as_tensor(src))
            for t in range(length):
                got, state = tr.model.step(tgt[:, t: t + 1], memory, state)
                want, tstate = model.step(torch.as_tensor(tgt[:, t: t + 1]), tstate)
                diff = np.abs(next_token_probs(got[:, -1], 1.0) - want[:, -1].softmax(-1).numpy()).max()
                assert diff < 1e-4, (arch, digits, t)


@pytest.mark.parametrize("arch", ARCHS)
def test_greedy_words_are_identical(arch, monkeypatch):
    from seqkit_numerals.translate import Translator

    numbers = _numbers(300) + [0, -7, 101001001001, 10**15 + 3]
    got = Translator.load(arch).words(numbers)
    monkeypatch.setenv("SEQKIT_BACKEND", "torch")
    tr = Translator.load(arch)
    assert tr.backend == "torch"
    assert got == tr.words(numbers)


def test_front_door_runs_without_torch():
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "seqkit", "num2words", "101001001001", "--json"],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 0, r.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")]
    assert "onnxruntime" in imported
    assert not [m for m in imported if m == "torch" or m.startswith("torch.")]
    out = json.loads(r.stdout)
    assert out["backend"] == "onnx"
    assert out["results"][0]["text"] == "one hundred and one billion, one million, one thousand and one"


@pytest.mark.parametrize("arch", ARCHS)
def test_train_exports_the_graphs(arch, tiny_models, monkeypatch):
    from seqkit_numerals.translate import Translator

    path, _ = tiny_models[arch]
    tr = Translator.load(str(path))
    assert tr.backend == "onnx"
    numbers = list(range(0, 1000, 7))
    got = tr.words(numbers)
    monkeypatch.setenv("SEQKIT_BACKEND", "torch")
    assert got == Translator.load(str(path)).words(numbers)
