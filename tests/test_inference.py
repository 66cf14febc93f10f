"""ONNX export of core's model types and the torch-free inference path (seqkit.generation.inference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from seqkit import generate, load_for_inference  # noqa: E402
from seqkit.errors import SeqkitError  # noqa: E402
from seqkit.generation import filter_logits, filter_logits_numpy, generate_numpy, next_token_probs  # noqa: E402
from seqkit.io import save_checkpoint  # noqa: E402
from seqkit.models import (  # noqa: E402
    RNNLM,
    GRUSeq2Seq,
    RNNConfig,
    Seq2SeqConfig,
    TransformerConfig,
    TransformerLM,
    TransformerSeq2Seq,
)
from seqkit.onnx import export_onnx  # noqa: E402


@pytest.fixture
def cli():
    from typer.testing import CliRunner

    from seqkit.cli.root import build_app

    app = build_app()
    return lambda args: CliRunner().invoke(app, args)

LMS = {
    "gru": (RNNLM, RNNConfig(vocab_size=11, cell="gru", n_embd=8, hidden=16, n_layer=2, n_cond=3)),
    "lstm": (RNNLM, RNNConfig(vocab_size=11, cell="lstm", n_embd=8, hidden=16, n_cond=3, cond_dim=4)),
    "rnn": (RNNLM, RNNConfig(vocab_size=11, cell="rnn", n_embd=8, hidden=16)),
    "transformer": (TransformerLM, TransformerConfig(vocab_size=11, n_layer=2, n_head=2, n_embd=16,
                                                      max_len=12, n_cond=3)),
    "rope": (TransformerLM, TransformerConfig(vocab_size=11, n_layer=1, n_head=2, n_embd=16, max_len=12,
                                               position="rope", bias=True)),
}
MODEL_TYPES = {RNNLM: "rnn-lm", TransformerLM: "transformer-lm", GRUSeq2Seq: "gru-seq2seq",
               TransformerSeq2Seq: "transformer-seq2seq"}


def _saved(tmp_path, cls, config, name="m", dtype=None):
    torch.manual_seed(0)
    model = cls(config).eval()
    for p in model.parameters():  # larger weights than the init: sharper distributions to compare
        p.data.normal_(0, 0.5)
    path = save_checkpoint(tmp_path / f"{name}.json", model, model_type=MODEL_TYPES[cls], config=config,
                           dtype=dtype)
    export_onnx(path)
    from seqkit import load_checkpoint

    return path, load_checkpoint(path).model


def _torch_probs(model, seq, cond):
    """Next-token probabilities after every prefix, one token per call through the cache."""
    cache = model.new_cache() if hasattr(model, "new_cache") else None
    out = []
    with torch.no_grad():
        for t in range(seq.shape[1]):
            logits, cache = model(torch.as_tensor(seq[:, t: t + 1]), cond=cond, cache=cache)
            out.append(logits[:, -1].softmax(-1).numpy())
    return np.stack(out, 1)


def _onnx_probs(model, seq, cond):
    state, out = None, []
    for t in range(seq.shape[1]):
        logits, state = model(seq[:, t: t + 1], cond=cond, cache=state)
        out.append(next_token_probs(logits[:, -1], 1.0))
    return np.stack(out, 1)


@pytest.mark.parametrize("name", sorted(LMS))
def test_lm_graph_gives_torchs_probabilities_at_every_step(name, tmp_path):
    cls, config = LMS[name]
    path, model = _saved(tmp_path, cls, config, dtype="float16")
    ck = load_for_inference(path)
    assert ck.backend == "onnx"
    rng = np.random.default_rng(0)
    seq = rng.integers(0, 11, size=(4, 10))
    cond = np.array([0, 1, 2, 1]) if config.n_cond else None
    tcond = torch.as_tensor(cond) if cond is not None else None
    want = _torch_probs(model, seq, tcond)
    got = _onnx_probs(ck.model, seq, cond)
    assert np.abs(got - want).max() < 1e-4
    # the whole sequence in one call gives the same as token by token
    logits, _ = ck.model(seq, cond=cond)
    with torch.no_grad():
        full, _ = model(torch.as_tensor(seq), cond=tcond, cache=model.new_cache() if hasattr(model, "new_cache") else None)
    assert np.abs(logits - full.numpy()).max() < 1e-4


@pytest.mark.parametrize("name", ["gru", "transformer", "rope"])
def test_greedy_generation_is_identical(name, tmp_path):
    cls, config = LMS[name]
    path, model = _saved(tmp_path, cls, config)
    onnx_model = load_for_inference(path).model
    prompt = np.array([[1, 2], [3, 4], [5, 6]])
    cond = np.array([0, 1, 2])
    kw = dict(temperature=0.0, stop_ids=(7,), suppress_ids=(0,))
    want = generate(model, torch.as_tensor(prompt), 20, cond=torch.as_tensor(cond), **kw)
    got = generate_numpy(onnx_model, prompt, 20, cond=cond, **kw)
    assert got.tolist() == want.tolist()  # 20 tokens: the transformers' window (12) slides too
    # and 40: the learned one restarts its window twice, the rotary one slides 28 times
    long_want = generate(model, torch.as_tensor(prompt), 40, cond=torch.as_tensor(cond), temperature=0.0)
    assert generate_numpy(onnx_model, prompt, 40, cond=cond, temperature=0.0).tolist() == long_want.tolist()


def test_sampling_follows_the_filtered_distribution(tmp_path):
    cls, config = LMS["transformer"]
    path, _ = _saved(tmp_path, cls, config)
    onnx_model = load_for_inference(path).model
    prompt = np.ones((4000, 1), dtype=np.int64)
    rng = np.random.default_rng(0)
    cond = np.zeros(4000, dtype=np.int64)
    first = generate_numpy(onnx_model, prompt, 1, temperature=0.7, top_k=4, cond=cond, rng=rng)[:, 0]
    logits, _ = onnx_model(prompt[:1], cond=cond[:1])
    probs = next_token_probs(logits[:, -1], 0.7, top_k=4)[0]
    freq = np.bincount(first, minlength=11) / len(first)
    assert set(np.flatnonzero(freq)) <= set(np.flatnonzero(probs))
    assert np.abs(freq - probs).max() < 0.03
    # same seed, same tokens
    again = generate_numpy(onnx_model, prompt[:50], 5, cond=cond[:50], rng=np.random.default_rng(3))
    assert again.tolist() == generate_numpy(onnx_model, prompt[:50], 5, cond=cond[:50],
                                            rng=np.random.default_rng(3)).tolist()


@pytest.mark.parametrize("top_k,top_p", [(0, 1.0), (3, 1.0), (0, 0.8), (5, 0.5), (0, 0.0)])
def test_filter_logits_numpy_matches_torch(top_k, top_p):
    logits = torch.randn(6, 20, generator=torch.Generator().manual_seed(top_k))
    want = filter_logits(logits, top_k, top_p).softmax(-1).numpy()
    got = next_token_probs(logits.numpy(), 1.0, top_k, top_p)
    assert np.abs(got - want).max() < 1e-6
    assert np.isneginf(filter_logits_numpy(logits.numpy(), top_k, top_p)).sum() == \
        torch.isneginf(filter_logits(logits, top_k, top_p)).sum().item()


SEQ2SEQ = {
    "gru": (GRUSeq2Seq, Seq2SeqConfig(src_vocab=9, tgt_vocab=12, n_embd=8, hidden=16, n_layer=2, max_len=40)),
    "transformer": (TransformerSeq2Seq, Seq2SeqConfig(src_vocab=9, tgt_vocab=12, n_embd=16, n_head=2,
                                                       n_layer=2, d_ff=32, max_len=40)),
}


@pytest.mark.parametrize("name", sorted(SEQ2SEQ))
def test_seq2seq_graphs_match_torch(name, tmp_path):
    cls, config = SEQ2SEQ[name]
    path, model = _saved(tmp_path, cls, config)
    ck = load_for_inference(path)
    assert ck.backend == "onnx"
    rng = np.random.default_rng(1)
    src = rng.integers(1, 9, size=(5, 6))
    tgt = rng.integers(1, 12, size=(5, 8))
    # teacher-forced probabilities at every step
    memory, state = ck.model.start(src)
    with torch.no_grad():
        tstate = model.start(torch.as_tensor(src))
        for t in range(tgt.shape[1]):
            logits, state = ck.model.step(tgt[:, t: t + 1], memory, state)
            tl, tstate = model.step(torch.as_tensor(tgt[:, t: t + 1]), tstate)
            diff = np.abs(next_token_probs(logits[:, -1], 1.0) - tl[:, -1].softmax(-1).numpy()).max()
            assert diff < 1e-4
    # greedy decoding of rows of several lengths: identical to torch's padded batch
    rows = [list(rng.integers(1, 9, size=n)) for n in (3, 5, 5, 7, 2, 7)]
    got = ck.model.greedy_decode_rows(rows, lambda n: 15, 1, 2)
    from seqkit import pad_sequences

    want = model.greedy_decode(pad_sequences(rows, 0), 15, 1, 2).tolist()
    for g, w in zip(got, want):
        assert g == w[: len(g)] and all(x == 2 for x in w[len(g):])


def test_backend_choice_and_fallback(tmp_path, monkeypatch):
    cls, config = LMS["gru"]
    path, _ = _saved(tmp_path, cls, config)
    assert load_for_inference(path).backend == "onnx"
    monkeypatch.setenv("SEQKIT_BACKEND", "torch")
    assert load_for_inference(path).backend == "torch"
    monkeypatch.setenv("SEQKIT_BACKEND", "tensorflow")
    with pytest.raises(SeqkitError, match="SEQKIT_BACKEND must be"):
        load_for_inference(path)
    monkeypatch.delenv("SEQKIT_BACKEND")
    # retrained weights: the old graphs are not used, then replaced
    model = cls(config)
    save_checkpoint(path, model, model_type="rnn-lm", config=config)
    assert load_for_inference(path).backend == "torch"
    monkeypatch.setenv("SEQKIT_BACKEND", "onnx")
    with pytest.raises(SeqkitError, match="no ONNX graphs"):
        load_for_inference(path)
    files = export_onnx(path)
    assert [f.name for f in tmp_path.glob("*.onnx")] == [files[0].name]  # the stale graph is gone
    assert load_for_inference(path).backend == "onnx"
    # corrupt or missing weights: the same error as on torch, though the graphs do not read them
    from seqkit.errors import CheckpointError
    from seqkit.io.checkpoints import read_meta

    weights = tmp_path / read_meta(path)["weights"]
    good = weights.read_bytes()
    weights.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_for_inference(path)
    weights.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load_for_inference(path)
    weights.write_bytes(good)
    # an unreadable graph: torch serves the model
    monkeypatch.setenv("SEQKIT_BACKEND", "auto")
    files[0].write_bytes(b"not a graph")
    assert load_for_inference(path).backend == "torch"


def test_float32_weights_stay_exact(tmp_path):
    cls, config = LMS["gru"]
    path, model = _saved(tmp_path, cls, config)  # float32: not representable in float16
    ck = load_for_inference(path)
    seq = np.array([[1, 2, 3]])
    logits, _ = ck.model(seq, cond=np.array([1]))
    with torch.no_grad():
        want, _ = model(torch.as_tensor(seq), cond=torch.tensor([1]))
    assert np.abs(logits - want.numpy()).max() < 1e-5


def test_model_without_graphs_is_one_error(tmp_path):
    import torch.nn as nn

    from seqkit.onnx.export import graph_specs

    assert graph_specs(nn.Linear(2, 2)) is None


def test_export_onnx_command(tmp_path, cli):
    cls, config = LMS["rnn"]
    path, _ = _saved(tmp_path, cls, config)
    for f in tmp_path.glob("*.onnx"):
        f.unlink()
    r = cli(["export-onnx", str(path), "--json"])
    assert r.exit_code == 0, r.output
    assert len(list(tmp_path.glob("*.step.onnx"))) == 1
    r = cli(["export-onnx", "gru"])
    assert r.exit_code == 2 and "--task" in r.output


def test_doctor_names_the_backend(cli):
    r = cli(["doctor", "--json"])
    assert "onnxruntime" in r.output


def _fallback(path, capsys):
    """``load_for_inference`` falls back to torch with exactly one notice line."""
    capsys.readouterr()
    ck = load_for_inference(path)
    err = capsys.readouterr().err.strip().splitlines()
    assert ck.backend == "torch"
    assert len(err) == 1 and err[0].startswith("Warning: ") and "running it on torch" in err[0], err
    return err[0]


def test_graph_checksums_recorded_and_checked(tmp_path, capsys):
    """#29 item 14: each graph's SHA-256 in the JSON; a corrupt, swapped, missing or extra graph
    falls back to torch with one notice line, never a traceback."""
    import json
    import shutil

    from seqkit.generation.inference import file_sha256

    for d in "ab":
        (tmp_path / d).mkdir()
    gru, _ = _saved(tmp_path / "a", *LMS["gru"], name="gru")
    tr, _ = _saved(tmp_path / "b", *LMS["transformer"], name="tr")
    meta = json.loads(gru.read_text())
    step = next(gru.parent.glob("*.step.onnx"))
    assert meta["onnx_sha256"] == {"step": file_sha256(step)}
    good = step.read_bytes()
    capsys.readouterr()
    assert load_for_inference(gru).backend == "onnx" and capsys.readouterr().err == ""
    shutil.copy(next(tr.parent.glob("*.step.onnx")), step)  # another model's graph under this name
    assert "checksum" in _fallback(gru, capsys)
    step.write_bytes(good[:-10])  # cut short
    assert "checksum" in _fallback(gru, capsys)
    step.unlink()
    assert "missing" in _fallback(gru, capsys)
    step.write_bytes(good)
    extra = step.with_name(step.name.replace(".step.", ".decoder."))
    extra.write_bytes(good)
    assert "not one of its ONNX graphs" in _fallback(gru, capsys)
    extra.unlink()
    meta["onnx_sha256"] = ["x"]
    gru.write_text(json.dumps(meta))
    assert "damaged" in _fallback(gru, capsys)


def test_graphs_without_checksums_are_checked_by_signature(tmp_path, capsys):
    """A checkpoint from before the record: graphs made for another model type, part or weights
    fall back to torch with one line; its own graphs still run on ONNX Runtime."""
    import json
    import shutil

    for d in "ab":
        (tmp_path / d).mkdir()
    gru, _ = _saved(tmp_path / "a", *LMS["gru"], name="gru")
    tr, _ = _saved(tmp_path / "b", *LMS["transformer"], name="tr")
    for p in (gru, tr):
        meta = json.loads(p.read_text())
        del meta["onnx_sha256"]
        p.write_text(json.dumps(meta))
    assert load_for_inference(gru).backend == "onnx"
    step = next(gru.parent.glob("*.step.onnx"))
    good = step.read_bytes()
    shutil.copy(next(tr.parent.glob("*.step.onnx")), step)
    assert "transformer-lm step graph" in _fallback(gru, capsys)
    step.unlink()
    (step.with_name(step.name.replace(".step.", ".decoder."))).write_bytes(good)
    assert "decoder graph" in _fallback(gru, capsys)
    for f in gru.parent.glob("*.onnx"):
        f.unlink()
    capsys.readouterr()
    assert load_for_inference(gru).backend == "torch" and capsys.readouterr().err == ""  # never exported


def test_seq2seq_with_a_graph_missing_falls_back(tmp_path, capsys):
    cls, config = GRUSeq2Seq, Seq2SeqConfig(src_vocab=9, tgt_vocab=9, n_embd=8, hidden=16, n_layer=1, max_len=12)
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "s.json", cls(config), model_type="gru-seq2seq", config=config)
    export_onnx(path)
    assert load_for_inference(path).backend == "onnx"
    next(tmp_path.glob("*.encoder.onnx")).unlink()
    assert "missing" in _fallback(path, capsys)


def test_read_only_home_runs_without_a_warning(tmp_path):
    """ONNX Runtime writes nothing under HOME; its telemetry warning there is silenced."""
    import os
    import subprocess
    import sys

    (tmp_path / "m").mkdir()
    path, _ = _saved(tmp_path / "m", *LMS["gru"], name="gru")
    env = {**os.environ, "HOME": "/proc/seqkit-no-home", "XDG_DATA_HOME": "", "XDG_CACHE_HOME": "",
           "XDG_CONFIG_HOME": "", "XDG_STATE_HOME": ""}
    code = f"from seqkit import load_for_inference; print(load_for_inference({str(path)!r}).backend)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "onnx", out.stderr
    assert out.stderr == ""


def test_threads_chosen_for_the_work(tmp_path, monkeypatch, cli):
    """One thread for small decoding, every core (at most 8) for batched work, --threads wins;
    the choice reaches the sessions and shows in doctor."""
    import os

    from seqkit.generation.inference import SMALL_WORK, pick_threads

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert pick_threads(0, 1, 1_240_000) == 1 and pick_threads(0, 3, 1_240_000) == 1
    assert pick_threads(0, 64, 1_240_000) == 4 and pick_threads(0, 10 * SMALL_WORK, 1) == 4
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert pick_threads(0, 512, 1_240_000) == 8
    assert pick_threads(2, 1, 10) == 2
    (tmp_path / "m").mkdir()
    path, _ = _saved(tmp_path / "m", *LMS["gru"], name="gru")
    ck = load_for_inference(path, threads=2)
    assert ck.threads == 2 and ck.model.graph.session.get_session_options().intra_op_num_threads == 2
    assert load_for_inference(path, threads=0).threads == 1
    r = cli(["doctor", "--json"])
    assert "--threads N overrides" in r.output


def test_export_onnx_int8_is_recorded_and_kept(tmp_path, cli):
    """--int8: quantized weights (smaller), onnx_precision in the JSON, kept by a plain re-export;
    --fp32 goes back."""
    import json

    cls, config = RNNLM, RNNConfig(vocab_size=11, cell="lstm", n_embd=8, hidden=96)
    path, model = _saved(tmp_path, cls, config)
    fp32 = next(tmp_path.glob("*.step.onnx")).stat().st_size
    assert cli(["export-onnx", str(path), "--int8"]).exit_code == 0
    graph = next(tmp_path.glob("*.step.onnx"))
    assert graph.stat().st_size < 0.6 * fp32
    assert json.loads(path.read_text())["onnx_precision"] == "int8"
    assert cli(["export-onnx", str(path)]).exit_code == 0  # keeps int8
    assert json.loads(path.read_text())["onnx_precision"] == "int8"
    ck = load_for_inference(path)
    seq = np.array([[1, 2, 3, 4]])
    logits, _ = ck.model(seq)
    with torch.no_grad():
        want, _ = model(torch.as_tensor(seq))
    assert ck.backend == "onnx"
    assert np.corrcoef(logits.ravel(), want.numpy().ravel())[0, 1] > 0.9  # int8 rounding, not another model
    assert cli(["export-onnx", str(path), "--fp32"]).exit_code == 0
    assert json.loads(path.read_text())["onnx_precision"] == "fp32"
    assert next(tmp_path.glob("*.step.onnx")).stat().st_size == fp32
