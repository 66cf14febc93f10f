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
    """A GRU and a Transformer trained on 0..999 for a few CPU seconds: {"gru": path, ...}."""
    import torch
    from seqkit_numerals.data import DataSpec
    from seqkit_numerals.train import train

    old = {k: os.environ.get(k) for k in seqkit_dirs}
    os.environ.update(seqkit_dirs)
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("models")
    spec = DataSpec(max=1000, size=1000, negatives=0.0, seed=0)
    settings = {
        "gru": (dict(n_embd=32, hidden=64), dict(steps=400, lr=1e-2)),
        "transformer": (dict(n_embd=64, n_layer=2, n_head=4, d_ff=128), dict(steps=400, lr=3e-3)),
    }
    models = {}
    try:
        for arch, (model, tc) in settings.items():
            r = train(arch, spec, out=out / f"{arch}.json", run_dir=out / f"run-{arch}",
                      train_config=dict(batch_size=32, warmup_steps=20, schedule="cosine",
                                        device="cpu", progress=False, eval_every=200, **tc),
                      model_overrides=model, progress=False)
            models[arch] = (out / f"{arch}.json", r)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return models
