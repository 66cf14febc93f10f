"""The Music Transformer on ONNX Runtime: the same numbers as torch, ``music generate`` on either
backend, ``--seconds`` ending sampling at the target (a tiny model initialised here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import seqkit_midi_transformer.plugin as plugin
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from seqkit_midi_transformer import onnx_step  # noqa: E402
from seqkit_midi_transformer.generator import SecondsStop, _cut  # noqa: E402
from seqkit_midi_transformer.model import PRESETS, MusicTransformer, MusicTransformerConfig  # noqa: E402
from seqkit_midi_transformer.tokenizer import NOTE_ON, TIME_SHIFT, PerformanceTokenizer  # noqa: E402

from seqkit import export_onnx, generate, generate_numpy, load_for_inference  # noqa: E402
from seqkit.generation import next_token_probs
from seqkit.io import save_checkpoint  # noqa: E402
from seqkit.testing import run_cli  # noqa: E402


def tiny(tmp_path, position="rope", quantize=None, name="tiny", export=True):
    """A random tiny model (context 16, so sampling slides past it) saved with its graph."""
    torch.manual_seed(0)
    cfg = MusicTransformerConfig(**{**PRESETS["tiny"], "position": position, "max_len": 16})
    model = MusicTransformer(cfg).eval()
    path = save_checkpoint(tmp_path / f"{name}.json", model, model_type="music-transformer", config=cfg,
                           tokenizer=PerformanceTokenizer(), task="music")
    if export:
        old, onnx_step.QUANTIZE = onnx_step.QUANTIZE, quantize
        try:
            export_onnx(path)
        finally:
            onnx_step.QUANTIZE = old
    return model, path


def test_probabilities_match_torch_at_every_step_past_the_context(tmp_path):
    model, path = tiny(tmp_path)
    ck = load_for_inference(path)
    assert ck.backend == "onnx"
    ids = np.random.default_rng(0).integers(3, 388, (2, 40))
    got, state = ck.model(ids[:, :4])
    with torch.no_grad():
        want, cache = model(torch.as_tensor(ids[:, :4]), cache=model.new_cache())
    assert np.abs(got - want.numpy()).max() < 1e-4
    # one token a step, through the graph's own cache (past max_len: generate_numpy slides it)
    a = generate_numpy(ck.model, ids[:, :4], 30, temperature=0)
    with torch.no_grad():
        b = generate(model, torch.as_tensor(ids[:, :4]), 30, temperature=0)
    assert (a == b.numpy()).all()
    for t in range(4, 12):
        got, state = ck.model(ids[:, t: t + 1], cache=state)
        with torch.no_grad():
            want, cache = model(torch.as_tensor(ids[:, t: t + 1]), cache=cache)
        p, q = next_token_probs(got[:, -1], 1.0), want[:, -1].softmax(-1).numpy()
        assert np.abs(p - q).max() < 1e-4, t


@pytest.mark.parametrize("grow", [256, 4])
def test_the_step_graph_moves_no_cache(tmp_path, monkeypatch, grow):
    """The graph returns the new tokens' keys/values only; the runner's buffers grow (``GROW`` slots
    at a time) and then turn into a ring, and every step matches torch's sliding cache: a primer as
    long as the context, then one token a step far past it, batch 2 with a condition-free model."""
    from seqkit_midi_transformer import onnx_runner

    monkeypatch.setattr(onnx_runner, "GROW", grow)
    model, path = tiny(tmp_path)
    ck = load_for_inference(path)
    assert type(ck.model).__name__ == "OnnxMusic"
    assert set(ck.model.graph.outputs) == {"logits", "k", "v"}
    ids = np.random.default_rng(2).integers(3, 388, (2, 60))
    for start in (5, 16):  # a short primer; a primer of max_len (more tokens than buffer slots)
        got, state = ck.model(ids[:, :start])
        with torch.no_grad():
            want, cache = model(torch.as_tensor(ids[:, :start]), cache=model.new_cache())
        assert np.abs(got - want.numpy()).max() < 1e-4
        assert state.cap == (15 if grow == 256 or start == 16 else 8)
        for t in range(start, 60):
            got, state = ck.model(ids[:, t: t + 1], cache=state)
            with torch.no_grad():
                want, cache = model(torch.as_tensor(ids[:, t: t + 1]), cache=cache)
            p, q = next_token_probs(got[:, -1], 1.0), want[:, -1].softmax(-1).numpy()
            assert np.abs(p - q).max() < 1e-4, (start, t)
        assert state.n == 60 and state.cap == 15 and (state.mask == 0).all()
    # several tokens after a primer: in one call where they fit the window, else one at a time inside
    # the runner, each token seeing the max_len tokens up to itself (as torch fed one token a step)
    for chunk in (8, 14):
        got, state = ck.model(ids[:, :5])
        got, state = ck.model(ids[:, 5: 5 + chunk], cache=state)
        with torch.no_grad():
            _, cache = model(torch.as_tensor(ids[:, :5]), cache=model.new_cache())
            want = [model(torch.as_tensor(ids[:, t: t + 1]), cache=cache)[0] for t in range(5, 5 + chunk)]
        assert np.abs(got - torch.cat(want, dim=1).numpy()).max() < 1e-4, chunk


def test_int8_graph_costs_little_nll(tmp_path):
    _, fp32 = tiny(tmp_path / "a")
    _, int8 = tiny(tmp_path / "b", quantize="int8")
    a, b = load_for_inference(fp32).model, load_for_inference(int8).model
    assert "int8" in b.graph.meta["quantize"] and "quantize" not in a.graph.meta
    assert int8.parent.joinpath(next(int8.parent.glob("*.onnx")).name).stat().st_size < \
        next(fp32.parent.glob("*.onnx")).stat().st_size
    ids = np.random.default_rng(1).integers(3, 388, (4, 16))

    def nll(m):
        logits, _ = m(ids[:, :-1])
        lp = np.log(next_token_probs(logits.reshape(-1, logits.shape[-1]), 1.0))
        return -lp[np.arange(lp.shape[0]), ids[:, 1:].reshape(-1)].mean()

    assert abs(nll(a) - nll(b)) < 0.01


def test_relative_attention_stays_on_torch(tmp_path):
    _, path = tiny(tmp_path, position="relative", export=False)
    r = run_cli(["export-onnx", str(path)], plugins=[plugin])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == ["Error: a Music Transformer with relative attention has no ONNX graph "
                                             "(only rotary positions export); it runs on torch"]
    assert load_for_inference(path).backend == "torch"
    r = run_cli(["music", "generate", "--model", str(path), "--tokens", "8", "-o", str(tmp_path / "g.mid")],
                plugins=[plugin])
    assert r.exit_code == 0, r.output
    assert "relative attention, which has no ONNX graph: it runs on torch" in r.stderr


def test_seconds_stop_ends_on_the_token_that_reaches_the_target_and_ends_there():
    tok = PerformanceTokenizer()
    second = TIME_SHIFT + 99  # a shift of 1 s
    half = TIME_SHIFT + 49
    stop = SecondsStop(tok, 2.0, 2)
    rows = np.array([[NOTE_ON + 60, second, NOTE_ON + 62, half, half, NOTE_ON + 64],
                     [second, second, NOTE_ON + 60, second, second, second]])
    hits = [stop(rows[:, : t + 1]).tolist() for t in range(rows.shape[1])]
    assert [h[1] for h in hits][:2] == [False, True]  # row 1 reaches 2 s on its second token
    assert [h[0] for h in hits] == [False, False, False, False, True, True]
    assert _cut(rows[0].tolist(), tok, 2.0) == rows[0, :5].tolist()
    assert _cut(rows[1].tolist(), tok, 2.0) == rows[1, :2].tolist()
    # a shift that passes the target is shortened to end on it (the piece is 2 s, notes end there)
    assert _cut([half, NOTE_ON + 60, second, second, NOTE_ON + 62], tok, 2.0) == [half, NOTE_ON + 60, second, half]
    assert stop.on_step is None and SecondsStop(tok, None, 1)(rows[:1, :1]).tolist() == [False]


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_generate_seconds_on_both_backends(tmp_path, monkeypatch, backend):
    _, path = tiny(tmp_path)
    monkeypatch.setenv("SEQKIT_BACKEND", backend)
    r = run_cli(["music", "generate", "--model", str(path), "--seconds", "3", "--seed", "1", "-o",
                 str(tmp_path / "g.mid"), "--json"], plugins=[plugin])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["backend"] == ("onnx" if backend == "auto" else "torch")
    piece = res["results"][0]
    assert piece["time_reached"] == 3.0 and piece["seconds"] <= 3.01  # the last shift ends on 3 s
    assert piece["tokens"] == res["generated_tokens"] == res["sampled_tokens"]  # nothing sampled to be cut
    assert (tmp_path / "g.mid").stat().st_size > 0


def test_same_seed_same_piece_on_the_onnx_backend(tmp_path):
    _, path = tiny(tmp_path)
    got = []
    for i in range(2):
        r = run_cli(["music", "generate", "--model", str(path), "--tokens", "40", "--seed", "7", "-o",
                     str(tmp_path / f"g{i}.mid")], plugins=[plugin])
        assert r.exit_code == 0, r.output
        got.append((tmp_path / f"g{i}.mid").read_bytes())
    assert got[0] == got[1]


def test_generate_imports_no_torch(tmp_path):
    _, path = tiny(tmp_path)
    env = {**os.environ, "SEQKIT_PROGRESS": "0"}
    env.pop("SEQKIT_BACKEND", None)
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "seqkit", "music", "generate", "--model", str(path),
                        "--seconds", "2", "--seed", "3", "-o", str(tmp_path / "g.mid"), "--wav", str(tmp_path / "g.wav"),
                        "--piano-roll", str(tmp_path / "g.png")], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    modules = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "numpy" in modules and "onnxruntime" in modules
    assert not [m for m in modules if m == "torch" or m.startswith("torch.")]
    assert (tmp_path / "g.wav").stat().st_size > 0 and (tmp_path / "g.png").stat().st_size > 0


def test_the_shipped_model_has_its_int8_graph():
    from seqkit import find_checkpoint
    from seqkit.generation.inference import onnx_files

    path = find_checkpoint("music-transformer", "music")
    ck = load_for_inference(path)
    assert ck.backend == "onnx" and "int8" in ck.model.graph.meta["quantize"]
    (graph,) = onnx_files(path, ck.meta).values()
    assert graph.stat().st_size < 0.6 * path.parent.joinpath(ck.meta["weights"]).stat().st_size
    logits, state = ck.model(np.array([[PerformanceTokenizer.bos_id, NOTE_ON + 60, TIME_SHIFT + 49]]))
    assert logits.shape == (1, 3, 391)
    # the buffer design: the runner keeps every layer's keys [B, H, D, slots] and values in place
    assert type(ck.model).__name__ == "OnnxMusic" and state.n == 3
    assert len(state.k) == 6 and state.k[0].shape[:3] == (1, 8, 64) and state.v[0].shape[-1] == 64
