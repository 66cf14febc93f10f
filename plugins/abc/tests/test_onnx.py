"""abc on ONNX Runtime: the shipped LSTM's graph, both backends through the front door, the
probabilities and activations against torch, train's export, and the fallback to torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from seqkit import export_onnx, load_checkpoint, load_for_inference  # noqa: E402
from seqkit.generation.inference import file_sha256, onnx_files  # noqa: E402

SHIPPED = Path(__import__("seqkit_abc").__file__).parent / "checkpoints" / "lstm.json"


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    """The tiny trained export (int8 graphs, as `abc train` wrote them) and an fp32 copy."""
    saved = Path(json.loads(tiny_run["result"].stdout)["saved"])
    root = tmp_path_factory.mktemp("abc-onnx")
    for name in ("int8", "fp32"):
        (root / name).mkdir()
        for f in saved.parent.glob(f"{saved.stem}*"):
            shutil.copy(f, root / name / f.name)
    export_onnx(root / "fp32" / saved.name, int8=False)
    return {"int8": root / "int8" / saved.name, "fp32": root / "fp32" / saved.name, "saved": saved}


def test_shipped_lstm_has_its_int8_graph_recorded():
    meta = json.loads(SHIPPED.read_text())
    files = onnx_files(SHIPPED, meta)
    assert set(files) == {"step"} and meta["onnx_precision"] == "int8"
    assert meta["onnx_sha256"] == {"step": file_sha256(files["step"])}
    weights = (SHIPPED.parent / meta["weights"]).stat().st_size
    assert files["step"].stat().st_size < 0.6 * weights  # int8: about half the float16 weights
    assert load_for_inference(SHIPPED).backend == "onnx"


def test_train_exports_int8_graphs(tiny_run, exported):
    result = json.loads(tiny_run["result"].stdout)
    meta = json.loads(exported["saved"].read_text())
    assert result["onnx"] == [f"{Path(meta['weights']).stem}.step.onnx"]
    assert meta["onnx_precision"] == "int8" and set(meta["onnx_sha256"]) == {"step"}
    assert load_for_inference(exported["int8"]).backend == "onnx"


def _torch_and_onnx_probs(path, text_ids):
    import torch

    ref = load_checkpoint(path).model
    with torch.no_grad():
        want = ref(torch.tensor([text_ids]))[0].softmax(-1)[0].numpy()
    onnx = load_for_inference(path).model
    logits, _ = onnx(np.array([text_ids]))
    e = np.exp(logits[0] - logits[0].max(-1, keepdims=True))
    return want, e / e.sum(-1, keepdims=True)


def test_fp32_graph_gives_torchs_probabilities(exported, h):
    ck = load_checkpoint(exported["fp32"])
    ids = ck.tokenizer.encode(h.course_text(h.TUNES))
    want, got = _torch_and_onnx_probs(exported["fp32"], ids)
    assert np.abs(want - got).max() < 1e-4


def test_shipped_int8_graph_costs_little_nll(h):
    """The shipped int8 graph's NLL on the test tunes is within 0.01 nats/char of torch's
    (+0.0024 on all of ../shared/data/abc-pa3/val.txt: benchmarks/abc_onnx.py)."""
    ck = load_checkpoint(SHIPPED)
    ids = ck.tokenizer.encode(h.course_text(h.TUNES))
    want, got = _torch_and_onnx_probs(SHIPPED, ids)
    targets = np.array(ids[1:])
    nll = [float(-np.log(p[np.arange(len(targets)), targets]).mean()) for p in (want[:-1], got[:-1])]
    assert abs(nll[1] - nll[0]) < 0.01, nll


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_front_door_on_both_backends(exported, h, tmp_path, backend, monkeypatch):
    """The same front-door checks on either backend; greedy tunes identical (fp32 graph)."""
    monkeypatch.setenv("SEQKIT_BACKEND", backend)
    args = ["abc", "generate", "-m", exported["fp32"], "-n", "2", "-t", "0", "--max-chars", "80", "--json"]
    r = h.cli(args, tmp_path)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["backend"] == ("onnx" if backend == "auto" else "torch") and out["threads"] == 1
    texts = [row["text"] for row in out["results"]]
    assert [t.split("\n")[0] for t in texts] == ["X:1", "X:2"]
    seeded = args[:-3] + ["-t", "0.5", "--seed", "3", "--json"]
    a, b = (json.loads(h.cli(seeded, tmp_path).stdout)["results"] for _ in range(2))
    assert a == b  # same seed, same tunes on each backend
    monkeypatch.setenv("SEQKIT_BACKEND", "torch" if backend == "auto" else "auto")
    other = json.loads(h.cli(args, tmp_path).stdout)
    assert [row["text"] for row in other["results"]] == texts  # greedy: the same on both backends


def test_heatmap_activations_through_the_graph(exported, h):
    from seqkit_abc.heatmap import activations
    from seqkit_abc.loading import load_abc_model

    text = h.course_text(h.TUNES)
    onnx, _ = load_abc_model(str(exported["fp32"]), "cpu")
    ref, _ = load_abc_model(str(exported["fp32"]), "cpu", backend="torch")
    assert onnx.backend == "onnx" and ref.backend == "torch"
    got = activations(onnx.model, onnx.tokenizer, text)
    want = activations(ref.model, ref.tokenizer, text)
    assert got.shape == want.shape == (len(text), 48) and np.abs(got - want).max() < 1e-4


def test_broken_graph_falls_back_with_one_line(exported, h, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(exported["fp32"].parent, folder)
    path = folder / exported["fp32"].name
    step = next(folder.glob("*.step.onnx"))
    step.write_bytes(step.read_bytes()[:-100])
    r = h.cli(["abc", "generate", "-m", path, "-n", "1", "--max-chars", "20", "--seed", "1", "--json"], tmp_path)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["backend"] == "torch"
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning")]
    assert len(warnings) == 1 and "checksum" in warnings[0] and "Traceback" not in r.stderr


def test_front_door_imports_no_torch():
    env = {**os.environ, "SEQKIT_PROGRESS": "0"}
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "seqkit", "abc", "generate", "-n", "1",
                        "--max-chars", "40", "--seed", "1", "--json"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")]
    assert "onnxruntime" in imported
    assert not [m for m in imported if m == "torch" or m.startswith("torch.")]
    assert json.loads(r.stdout)["backend"] == "onnx"
