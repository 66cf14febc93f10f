"""The compressive Transformer on ONNX Runtime: torch's numbers through memories and compression,
and ``music generate --model`` on either backend (a tiny model initialised here)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from seqkit_compressive import onnx_graphs  # noqa: E402
from seqkit_compressive.model import CompressiveConfig, CompressiveTransformer  # noqa: E402

from seqkit import export_onnx, generate, generate_numpy, load_for_inference  # noqa: E402
from seqkit.generation import next_token_probs
from seqkit.io import save_checkpoint  # noqa: E402

SMALL = dict(vocab_size=391, n_layer=2, n_head=2, n_embd=32, d_ff=64, seg_len=8, mem_len=8, cmem_len=4, cmem_ratio=2)


def tiny(tmp_path, quantize=None, **overrides):
    """A random tiny model (segments of 8, so 60 tokens roll the memories and compress) with its graphs."""
    PerformanceTokenizer = pytest.importorskip("seqkit_midi_transformer.tokenizer").PerformanceTokenizer

    torch.manual_seed(0)
    cfg = CompressiveConfig(**{**SMALL, **overrides})
    model = CompressiveTransformer(cfg).eval()
    with torch.no_grad():  # a convolution that is not plain mean pooling
        for b in model.blocks:
            if b.compress is not None and hasattr(b.compress, "conv"):
                b.compress.conv.weight.add_(torch.randn_like(b.compress.conv.weight) * 0.1)
    path = save_checkpoint(tmp_path / "ctiny.json", model, model_type="compressive", config=cfg,
                           tokenizer=PerformanceTokenizer(), task="music")
    old, onnx_graphs.QUANTIZE = onnx_graphs.QUANTIZE, quantize
    try:
        export_onnx(path)
    finally:
        onnx_graphs.QUANTIZE = old
    return model, path


@pytest.mark.parametrize("overrides", [{}, {"memory_layers": (2,)}, {"cmem_len": 0}, {"mem_len": 0, "cmem_len": 0},
                                       {"compression": "max", "mem_len": 16, "cmem_len": 8, "bias": True}])
def test_probabilities_and_greedy_tokens_match_torch(tmp_path, overrides):
    pytest.importorskip("seqkit_midi_transformer")
    model, path = tiny(tmp_path, **overrides)
    ck = load_for_inference(path)
    assert ck.backend == "onnx"
    ids = np.random.default_rng(0).integers(3, 388, (2, 60))
    with torch.no_grad():
        want, _ = model(torch.as_tensor(ids))  # segment by segment, memories rolled and compressed
    got, _ = ck.model(ids)  # one token a step
    p = next_token_probs(got.reshape(-1, got.shape[-1]), 1.0)
    q = want.reshape(-1, want.shape[-1]).softmax(-1).numpy()
    assert np.abs(p - q).max() < 1e-4
    a = generate_numpy(ck.model, ids[:, :5], 40, temperature=0)
    with torch.no_grad():
        b = generate(model, torch.as_tensor(ids[:, :5]), 40, temperature=0)
    assert (a == b.numpy()).all()


def test_int8_graphs_cost_little_nll(tmp_path):
    pytest.importorskip("seqkit_midi_transformer")
    _, fp32 = tiny(tmp_path / "a")
    _, int8 = tiny(tmp_path / "b", quantize="int8")
    ids = np.random.default_rng(1).integers(3, 388, (2, 40))

    def nll(path):
        m = load_for_inference(path).model
        logits, _ = m(ids[:, :-1])
        lp = np.log(next_token_probs(logits.reshape(-1, logits.shape[-1]), 1.0))
        return -lp[np.arange(lp.shape[0]), ids[:, 1:].reshape(-1)].mean()

    assert "int8" in load_for_inference(int8).model.step_graph.meta["quantize"]
    assert abs(nll(fp32) - nll(int8)) < 0.01


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_music_generate_on_both_backends(tmp_path, monkeypatch, backend):
    plugin = pytest.importorskip("seqkit_midi_transformer.plugin")
    from seqkit.testing import run_cli

    _, path = tiny(tmp_path)
    monkeypatch.setenv("SEQKIT_BACKEND", backend)
    r = run_cli(["music", "generate", "--model", str(path), "--seconds", "2", "--seed", "1", "-o",
                 str(tmp_path / "g.mid"), "--json"], plugins=[plugin])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["backend"] == ("onnx" if backend == "auto" else "torch")
    assert res["results"][0]["time_reached"] == 2.0
    assert res["generated_tokens"] == res["sampled_tokens"]


def test_the_shipped_model_has_its_graphs_and_torchs_numbers(tmp_path):
    """int8 MLPs and attention projections (docs/compressive.md): close to torch, and its float32
    export (made here) within 1e-4."""
    pytest.importorskip("seqkit_midi_transformer")
    import shutil

    from seqkit import find_checkpoint, load_checkpoint
    from seqkit.generation.inference import onnx_files

    path = find_checkpoint("compressive", "music")
    ck = load_for_inference(path)
    assert ck.backend == "onnx" and set(onnx_files(path, ck.meta)) == {"step", "memory_kv", "compress"}
    assert ck.meta["onnx_precision"] == "int8" and ck.model.step_graph.meta["quantize"] == "int8"
    graphs = sum(f.stat().st_size for f in onnx_files(path, ck.meta).values())
    assert graphs < path.parent.joinpath(ck.meta["weights"]).stat().st_size  # float16 storage, int8 MLPs
    model = load_checkpoint(path).model.float().eval()
    ids = np.random.default_rng(0).integers(0, 388, (1, 300))  # rolls the memories twice
    with torch.no_grad():
        want, _ = model(torch.as_tensor(ids))
    q = want[0].softmax(-1).numpy()

    def nll(p):
        return -np.log(p[np.arange(299), ids[0, 1:]]).mean()

    got, _ = ck.model(ids)
    p = next_token_probs(got[0], 1.0)
    assert np.abs(p - q).max() < 0.1 and abs(nll(p) - nll(q)) < 0.02  # measured: 0.057 and 0.004
    shutil.copy(path, tmp_path / path.name)
    shutil.copy(path.parent / ck.meta["weights"], tmp_path / ck.meta["weights"])
    export_onnx(tmp_path / path.name, int8=False)
    fp32, _ = load_for_inference(tmp_path / path.name).model(ids)
    assert np.abs(next_token_probs(fp32[0], 1.0) - q).max() < 1e-4
