"""`seqkit music infill` (the music-infill generator) on a tiny model initialised here."""

import json

import numpy as np
import pytest
import seqkit_midi_transformer.plugin as plugin
from hypothesis import given, settings
from hypothesis import strategies as st
from music_helpers import make_midi, scale_notes
from seqkit_midi_transformer.infill import close_gap
from seqkit_midi_transformer.tokenizer import (
    NOTE_OFF,
    NOTE_ON,
    TIME_SHIFT,
    VELOCITY,
    PerformanceTokenizer,
    token_seconds,
)

from seqkit.testing import run_cli


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin])


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """A tiny Music Transformer with seeded random weights (max_len 256), saved as a checkpoint."""
    import torch
    from seqkit_midi_transformer.model import PRESETS, MusicTransformer, MusicTransformerConfig

    from seqkit.io import save_checkpoint

    torch.manual_seed(0)
    tok = PerformanceTokenizer()
    config = MusicTransformerConfig(vocab_size=tok.vocab_size, **{**PRESETS["tiny"], "max_len": 256})
    path = tmp_path_factory.mktemp("tiny") / "tiny.json"
    save_checkpoint(path, MusicTransformer(config), model_type="music-transformer", config=config,
                    tokenizer=tok, task="music")
    return path


@pytest.fixture
def piece(tmp_path):
    return make_midi(tmp_path / "piece.mid", scale_notes(40, start=0.5, step=0.25))  # 0.5 .. 10.45 s


def _notes(path):
    return PerformanceTokenizer().notes(path)


def test_infill_keeps_the_notes_outside_the_gap(tiny_ckpt, piece, tmp_path):
    out = tmp_path / "out.mid"
    r = cli("music", "infill", piece, "--from", 3, "--to", 5, "--candidates", 3, "--seed", 7,
            "--model", tiny_ckpt, "--out", out, "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    m = res["results"][0]
    assert res["generator"] == "music-infill" and m["candidates"] == 3 and len(m["candidate_nll_after"]) == 3
    assert m["nll_after"] == min(m["candidate_nll_after"]) == m["candidate_nll_after"][m["chosen"] - 1]
    assert m["original_nll"] is not None and m["lookahead_tokens"] > 0
    before, after = _notes(piece), _notes(out)
    outside = lambda n: n[(n[:, 1] <= 3) | (n[:, 0] >= 5)]  # noqa: E731
    np.testing.assert_allclose(outside(after), outside(before), atol=1e-9)
    gap = after[(after[:, 0] >= 3) & (after[:, 0] < 5)]
    assert len(gap) == m["gap_notes"] and (gap[:, 1] <= 5 + 1e-9).all()  # every gap note ends in the gap


def test_infill_is_deterministic_with_a_seed(tiny_ckpt, piece, tmp_path):
    outs = []
    for k in range(2):
        out = tmp_path / f"o{k}.mid"
        r = cli("music", "infill", piece, "--from", 2, "--to", 4.5, "--candidates", 2, "--seed", 3,
                "--model", tiny_ckpt, "--out", out, "--device", "cpu")
        assert r.exit_code == 0, r.output
        assert "candidate" in r.stdout and "NLL of the" in r.stdout
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_infill_from_python(tiny_ckpt, piece):
    from seqkit import get_generator
    from seqkit.generation import run_generator

    res = run_generator("music-infill", piece=str(piece), start=1.0, end=2.0, candidates=1, seed=0,
                        model=str(tiny_ckpt), device="cpu")
    assert res.outputs[0].files["mid"][:4] == b"MThd" and res.outputs[0].meta["chosen"] == 1
    schema = get_generator("music-infill").schema()
    params = {p["name"]: p for p in schema["params"]}
    assert params["piece"]["type"] == "file" and params["piece"]["required"]
    assert params["start"]["flags"] == ["--from"] and params["end"]["flags"] == ["--to"]


def test_a_gap_at_the_end_keeps_the_first_candidate(tiny_ckpt, piece, tmp_path):
    r = cli("music", "infill", piece, "--from", 9, "--to", 10.45, "--candidates", 2, "--seed", 1,
            "--model", tiny_ckpt, "--out", tmp_path / "o.mid", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["results"][0]["chosen"] == 1 and "nothing follows the gap" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--from", 5, "--to", 5], "--from (5 s) must be before --to"),
    (["--from", 6, "--to", 4], "must be before --to"),
    (["--from", 8, "--to", 30], "outside the piece, which ends at 10.45 s"),
    (["--from", -1, "--to", 3], "--from must be at least 0"),
    (["--from", 1, "--to", 3, "--candidates", 0], "--candidates must be at least 1"),
    (["--to", 3], "--from is required"),
])
def test_infill_bad_gaps_are_one_line(tiny_ckpt, piece, tmp_path, args, message):
    out = tmp_path / "o.mid"
    r = cli("music", "infill", piece, *args, "--model", tiny_ckpt, "--out", out, "--device", "cpu")
    assert r.exit_code == 2, r.output
    assert r.stderr.count("Error:") == 1 and message in r.stderr and "Traceback" not in r.output
    assert not out.exists()


def test_infill_a_piece_with_no_notes(tiny_ckpt, tmp_path):
    empty = make_midi(tmp_path / "empty.mid", [])
    r = cli("music", "infill", empty, "--from", 0, "--to", 1, "--model", tiny_ckpt, "--out", tmp_path / "o.mid")
    assert r.exit_code == 2 and r.stderr.count("Error:") == 1 and "has no notes" in r.stderr
    r = cli("music", "infill", tmp_path / "missing.mid", "--from", 0, "--to", 1, "--model", tiny_ckpt)
    assert r.exit_code == 2 and r.stderr.count("Error:") == 1 and "does not exist" in r.stderr


TOKENS = st.one_of(st.integers(NOTE_ON, NOTE_OFF - 1), st.integers(NOTE_OFF, TIME_SHIFT - 1),
                   st.integers(TIME_SHIFT, VELOCITY - 1), st.integers(VELOCITY, VELOCITY + 31))


@settings(max_examples=200, deadline=None)
@given(st.lists(TOKENS, max_size=80), st.integers(1, 500))
def test_a_closed_gap_lasts_exactly_its_steps_and_releases_every_note(row, steps):
    out = close_gap(row, steps, eos_id=390)
    assert round(float(token_seconds(out)[-1]) * 100) == steps
    sounding = set()
    for t in out:
        if NOTE_ON <= t < NOTE_OFF:
            sounding.add(t)
        elif NOTE_OFF <= t < TIME_SHIFT:
            sounding.discard(t - NOTE_OFF)
    assert not sounding
    # what was sampled before the end is kept as it was
    keep = [t for t, s in zip(row, token_seconds(row)) if s < steps / 100 and not (TIME_SHIFT <= t < VELOCITY)]
    assert [t for t in out if not (TIME_SHIFT <= t < VELOCITY)][: len(keep)] == keep


def test_scoring_through_the_shared_cache_equals_scoring_each_candidate():
    import torch
    from seqkit_midi_transformer.infill import lookahead_nll, score_candidates
    from seqkit_midi_transformer.model import PRESETS, MusicTransformer, MusicTransformerConfig

    torch.manual_seed(0)
    net = MusicTransformer(MusicTransformerConfig(vocab_size=391, **{**PRESETS["tiny"], "max_len": 256})).eval()
    rng = np.random.default_rng(0)
    prompt = [389] + rng.integers(0, 388, 300).tolist()  # longer than the context: cut to fit
    gaps = [rng.integers(0, 388, int(n)).tolist() for n in rng.integers(5, 40, 11)]
    after = rng.integers(0, 388, 30).tolist()
    fast = score_candidates(net, prompt, gaps, after, chunk=4)
    head = prompt[-(256 - max(map(len, gaps)) - len(after)):]
    slow = [lookahead_nll(net, head + g, after) for g in gaps]
    np.testing.assert_allclose(fast, slow, atol=1e-4)
    assert len(set(np.round(fast, 4))) > 1  # the candidates really differ


# -- on ONNX Runtime ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    """A tiny rotary Music Transformer (max_len 256) saved with its float32 step graph (``OnnxMusic``)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import torch
    from seqkit_midi_transformer import onnx_step
    from seqkit_midi_transformer.model import PRESETS, MusicTransformer, MusicTransformerConfig

    from seqkit import export_onnx
    from seqkit.io import save_checkpoint

    torch.manual_seed(0)
    tok = PerformanceTokenizer()
    config = MusicTransformerConfig(vocab_size=tok.vocab_size, **{**PRESETS["tiny"], "max_len": 256,
                                                                 "position": "rope"})
    path = tmp_path_factory.mktemp("tiny-onnx") / "tiny.json"
    save_checkpoint(path, MusicTransformer(config), model_type="music-transformer", config=config,
                    tokenizer=tok, task="music")
    old, onnx_step.QUANTIZE = onnx_step.QUANTIZE, None
    try:
        export_onnx(path)
    finally:
        onnx_step.QUANTIZE = old
    return path


def test_onnx_scoring_agrees_with_torch(tiny_onnx):
    """The same candidates scored through the step graph's buffers (the context read once) and
    through torch's KV cache: NLLs within 1e-3 nats/token, the same choice."""
    from seqkit_midi_transformer.infill import lookahead_nll, score_candidates

    from seqkit import load_checkpoint, load_for_inference

    onnx = load_for_inference(tiny_onnx).model
    assert type(onnx).__name__ == "OnnxMusic"
    net = load_checkpoint(tiny_onnx).model.float().eval()
    rng = np.random.default_rng(1)
    prompt = [389] + rng.integers(0, 388, 300).tolist()  # longer than the context: cut to fit
    gaps = [rng.integers(0, 388, int(n)).tolist() for n in rng.integers(5, 40, 11)]
    after = rng.integers(0, 388, 30).tolist()
    fast = score_candidates(onnx, prompt, gaps, after, chunk=4)
    want = score_candidates(net, prompt, gaps, after, chunk=4)
    assert np.abs(np.subtract(fast, want)).max() < 1e-3
    assert int(np.argmin(fast)) == int(np.argmin(want)) and len(set(np.round(fast, 3))) > 1
    head = prompt[-(256 - max(map(len, gaps)) - len(after)):]
    one = lookahead_nll(onnx, head + gaps[0], after)  # a candidate on its own (other model types' path)
    assert abs(one - fast[0]) < 1e-3


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_infill_on_both_backends(tiny_onnx, piece, tmp_path, monkeypatch, backend):
    monkeypatch.setenv("SEQKIT_BACKEND", backend)
    runs = []
    for i in range(2):
        r = cli("music", "infill", piece, "--from", 3, "--to", 5, "--candidates", 3, "--seed", 7,
                "--model", tiny_onnx, "--out", tmp_path / f"o{i}.mid", "--json")
        assert r.exit_code == 0, r.output
        runs.append(json.loads(r.stdout))
    res = runs[0]
    assert res["backend"] == ("onnx" if backend == "auto" else "torch")
    m = res["results"][0]
    assert 1 <= m["chosen"] <= 3 and m["nll_after"] == min(m["candidate_nll_after"])
    assert runs[1]["results"][0]["candidate_nll_after"] == m["candidate_nll_after"]  # the same seed: the same run
    assert (tmp_path / "o0.mid").read_bytes() == (tmp_path / "o1.mid").read_bytes()
    before = _notes(piece)
    kept = _notes(tmp_path / "o0.mid")
    outside = before[(before[:, 0] < 3) & (before[:, 1] <= 3) | (before[:, 0] >= 5)]
    assert len(kept) >= len(outside)


def test_infill_with_a_broken_graph_runs_on_torch_with_one_notice(tiny_onnx, piece, tmp_path, monkeypatch):
    import shutil

    monkeypatch.delenv("SEQKIT_BACKEND", raising=False)
    folder = tmp_path / "ck"
    shutil.copytree(tiny_onnx.parent, folder)
    (graph,) = folder.glob("*.onnx")
    graph.write_bytes(graph.read_bytes()[:1000])
    r = cli("music", "infill", piece, "--from", 3, "--to", 5, "--candidates", 2, "--seed", 7,
            "--model", folder / tiny_onnx.name, "--out", tmp_path / "o.mid", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["backend"] == "torch"
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "running it on torch instead" in warnings[0]


def test_infill_imports_no_torch(tiny_onnx, piece, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SEQKIT_PROGRESS": "0"}
    env.pop("SEQKIT_BACKEND", None)
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "seqkit", "music", "infill", str(piece), "--from",
                        "3", "--to", "5", "--candidates", "2", "--seed", "1", "--model", str(tiny_onnx), "-o",
                        str(tmp_path / "o.mid")], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    modules = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "onnxruntime" in modules
    assert not [m for m in modules if m == "torch" or m.startswith("torch.")]
