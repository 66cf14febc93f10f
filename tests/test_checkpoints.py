import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from seqkit import CharTokenizer, CheckpointError, export_checkpoint, find_checkpoint, load_checkpoint
from seqkit.io import read_meta, save_checkpoint
from seqkit.models import RNNLM, RNNConfig


def _save(path, seed=0, **kw):
    torch.manual_seed(seed)
    cfg = RNNConfig(vocab_size=10, hidden=16)
    model = RNNLM(cfg)
    save_checkpoint(path, model, model_type="rnn-lm", config=cfg, tokenizer=CharTokenizer.build(["abcdef"]),
                    task="test", metrics={"val_loss": 1.5}, **kw)
    return model


def test_round_trip(tmp_path):
    model = _save(tmp_path / "m.json")
    ckpt = load_checkpoint(tmp_path / "m.json")
    for k, v in model.state_dict().items():
        assert torch.equal(v, ckpt.model.state_dict()[k])
    assert ckpt.meta["metrics"]["val_loss"] == 1.5
    assert ckpt.tokenizer.decode(ckpt.tokenizer.encode("cab")) == "cab"
    assert not ckpt.model.training
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and "m.json" in files and files[0].endswith(".safetensors")


def test_overwrite_removes_old_weights_and_half_precision_export(tmp_path):
    _save(tmp_path / "m.json", seed=0)
    _save(tmp_path / "m.json", seed=1)
    assert len(list(tmp_path.glob("*.safetensors"))) == 1
    out = export_checkpoint(tmp_path / "m.json", tmp_path / "small" / "m.json", dtype="float16",
                            metrics={"acc": 0.9})
    meta = read_meta(out)
    assert meta["dtype"] == "float16" and meta["metrics"] == {"acc": 0.9}
    assert load_checkpoint(out).model.rnn.weight_ih_l0.dtype == torch.float32  # cast back on load


def test_no_pickle_anywhere(tmp_path):
    _save(tmp_path / "m.json", train_state={"optimizer": {"state": {0: {"step": torch.tensor(3.0)}}}})
    for p in tmp_path.iterdir():
        assert not p.read_bytes().startswith(b"\x80"), p  # pickle protocol header


@pytest.mark.parametrize("damage", ["truncate", "flip", "json", "missing", "mismatch", "not-ours"])
def test_damaged_checkpoints_give_one_clear_error(tmp_path, damage):
    _save(tmp_path / "m.json")
    meta = json.loads((tmp_path / "m.json").read_text())
    weights = tmp_path / meta["weights"]
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "flip":
        data = bytearray(weights.read_bytes())
        data[-5] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "json":
        (tmp_path / "m.json").write_text("{not json")
    elif damage == "missing":
        weights.unlink()
    elif damage == "mismatch":
        meta["config"]["hidden"] = 32
        (tmp_path / "m.json").write_text(json.dumps(meta))
    elif damage == "not-ours":
        (tmp_path / "m.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "m.json")
    assert "\n" not in str(info.value)


def test_find_checkpoint_by_path_and_name(tmp_path, monkeypatch):
    _save(tmp_path / "m.json")
    assert find_checkpoint(str(tmp_path / "m.json"), "test") == tmp_path / "m.json"
    with pytest.raises(CheckpointError, match="does not exist"):
        find_checkpoint(str(tmp_path / "nope.json"), "test")


@pytest.mark.parametrize("weights", ["../outside.safetensors", "/abs/m.safetensors", "sub/m.safetensors",
                                     "sub\\m.safetensors", "..", "", None, 3])
def test_weights_field_must_be_a_file_name_next_to_the_json(tmp_path, weights):
    (tmp_path / "run").mkdir()
    _save(tmp_path / "run" / "m.json")
    meta = json.loads((tmp_path / "run" / "m.json").read_text())
    real = tmp_path / "run" / meta["weights"]
    (tmp_path / "outside.safetensors").write_bytes(real.read_bytes())  # a loadable file out there
    meta["weights"] = weights
    (tmp_path / "run" / "m.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="'weights' must be a file name"):
        load_checkpoint(tmp_path / "run" / "m.json")
    # overwriting such a checkpoint never deletes what its bad field points at
    _save(tmp_path / "run" / "m.json")
    assert (tmp_path / "outside.safetensors").exists()
    assert load_checkpoint(tmp_path / "run" / "m.json").meta["weights"].startswith("m-")


@pytest.mark.parametrize("name", ["../evil", "a/b", "a\\b", "..", "x..y", ""])
def test_checkpoint_names_cannot_leave_their_folder(name):
    from seqkit import SeqkitError
    from seqkit.io import user_checkpoint_dir, user_checkpoint_path

    with pytest.raises(SeqkitError, match="invalid checkpoint name"):
        user_checkpoint_path("test", name)
    if name:
        with pytest.raises(SeqkitError, match="invalid task name"):
            user_checkpoint_dir(name)
    if "/" not in name and name not in ("..", ""):  # a name, not a path: rejected
        with pytest.raises(SeqkitError, match="invalid checkpoint name"):
            find_checkpoint(name, "test")
    assert user_checkpoint_path("test", "gru") == user_checkpoint_dir("test") / "gru.json"


def test_export_to_a_json_path_is_still_a_path(tmp_path):
    _save(tmp_path / "a" / "m.json")
    (tmp_path / "b").mkdir()
    dest = export_checkpoint(tmp_path / "a" / "m.json", tmp_path / "a" / ".." / "b" / "m2.json")
    assert load_checkpoint(dest).meta["name"] == "m2"
    assert find_checkpoint(str(tmp_path / "a" / ".." / "b" / "m2.json"), "test").exists()


WRITER = textwrap.dedent("""
    import sys, torch
    from seqkit.io import save_checkpoint
    from seqkit.models import RNNConfig, RNNLM
    cfg = RNNConfig(vocab_size=50, hidden=256, n_layer=2)
    i = 0
    print("ready", flush=True)
    while True:
        torch.manual_seed(i)
        save_checkpoint(sys.argv[1], RNNLM(cfg), model_type="rnn-lm", config=cfg, metrics={"i": i})
        i += 1
""")


def test_kill_9_during_writes_leaves_a_loadable_checkpoint(tmp_path):
    target = tmp_path / "m.json"
    _save(target)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    for delay in (0.3, 0.9):
        proc = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE)
        proc.stdout.readline()
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        ckpt = load_checkpoint(target)  # never raises: old or new, complete either way
        assert ckpt.meta["model_type"] == "rnn-lm"


def test_atomic_write_to_a_folder_names_the_folder(tmp_path):
    from seqkit.io.checkpoints import atomic_write_bytes

    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError) as err:
        atomic_write_bytes(tmp_path / "out", b"x")
    assert err.value.filename == str(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # no temporary file left behind


def test_loading_a_checkpoint_imports_no_dynamo(tmp_path):
    """The shape check builds the model on the meta device; random init there must not pull in
    ``torch._dynamo`` (about a second of imports) through ``torch._refs``."""
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from seqkit import load_checkpoint\n"
        "from seqkit.io import save_checkpoint\n"
        "from seqkit.models import RNNLM, RNNConfig, TransformerConfig, TransformerLM\n"
        "for i, (cls, cfg, kind) in enumerate([\n"
        "    (RNNLM, RNNConfig(vocab_size=9, cell='lstm', n_embd=8, hidden=16), 'rnn-lm'),\n"
        "    (TransformerLM, TransformerConfig(vocab_size=9, n_layer=1, n_head=2, n_embd=8, max_len=8),\n"
        "     'transformer-lm')]):\n"
        f"    p = save_checkpoint({str(tmp_path)!r} + f'/m{{i}}.json', cls(cfg), model_type=kind, config=cfg)\n"
        "    w = load_checkpoint(p).model.state_dict()\n"
        "    assert all(v.abs().sum() > 0 for k, v in w.items() if k.endswith('weight')), 'weights loaded'\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_loading_each_shipped_torch_checkpoint_imports_no_dynamo():
    """Every installed shipped checkpoint, loaded on torch: no ``torch._dynamo`` (a plugin's own
    module-level import or a meta-device fill would bring it back)."""
    import subprocess
    import sys

    code = (
        "import sys, seqkit\n"
        "from seqkit.io.checkpoints import list_checkpoints\n"
        "n = 0\n"
        "for c in list_checkpoints():\n"
        "    if c.get('origin') == 'shipped' and 'error' not in c:\n"
        "        seqkit.load_checkpoint(c['path'], device='cpu'); n += 1\n"
        "print(n, 'torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    n, dynamo = out.stdout.split()
    if int(n) == 0:
        pytest.skip("no shipped checkpoint installed (core alone: no bundled plugin)")
    assert dynamo == "False", f"{n} checkpoints loaded"


def test_meta_build_leaves_random_fills_alone_elsewhere():
    import torch

    from seqkit.io.checkpoints import _no_random_fill_on_meta

    with _no_random_fill_on_meta():
        t = torch.zeros(1000).normal_()
        m = torch.empty(3, device="meta").uniform_()
    assert t.std() > 0.5 and m.is_meta
    assert torch.Tensor.normal_ is torch._C.TensorBase.normal_ or "fill" not in torch.Tensor.normal_.__name__
