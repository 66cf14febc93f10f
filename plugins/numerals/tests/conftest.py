import json
import os

import pytest


@pytest.fixture(scope="session")
def seqkit_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("seqkit")
    return {"SEQKIT_CACHE_DIR": str(base / "cache"), "SEQKIT_DATA_DIR": str(base / "data"),
            "SEQKIT_PROGRESS": "0"}


@pytest.fixture(autouse=True)
def _isolated(seqkit_dirs, monkeypatch):
    """Every test caches data and writes checkpoints in temporary folders, never the user's."""
    for k, v in seqkit_dirs.items():
        monkeypatch.setenv(k, v)
    yield


@pytest.fixture(scope="session")
def tiny_models(seqkit_dirs, tmp_path_factory):
    """A GRU and a Transformer trained on 0..999 for a few CPU seconds by `seqkit numerals train`:
    {"gru": (path, the command's --json summary), ...}."""
    import seqkit_numerals.plugin as plugin
    import torch

    from seqkit.testing import run_cli

    old = {k: os.environ.get(k) for k in seqkit_dirs}
    os.environ.update(seqkit_dirs)
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("models")
    settings = {
        "gru": ["--lr", "1e-2", "--set", "n_embd=32", "--set", "hidden=64"],
        "transformer": ["--lr", "3e-3", "--set", "n_embd=64", "--set", "n_layer=2", "--set", "n_head=4",
                        "--set", "d_ff=128"],
    }
    models = {}
    try:
        for arch, args in settings.items():
            r = run_cli(["numerals", "train", "--arch", arch, "--max", "1000", "--size", "1000", "--negatives", "0",
                         "--steps", "400", "--batch-size", "32", "--set", "warmup_steps=20", "--set", "eval_every=200",
                         "--device", "cpu", "--out", str(out / f"run-{arch}"), "--save", str(out / f"{arch}.json"),
                         "--json", *args], plugins=[plugin])
            assert r.exit_code == 0, r.output
            models[arch] = (out / f"{arch}.json", json.loads(r.stdout))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return models
