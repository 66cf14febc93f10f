import os
from pathlib import Path

import pytest

os.environ.setdefault("SEQKIT_PROGRESS", "0")

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("SEQKIT_SHARED_DATA", REPO.parent / "shared" / "data"))

# Two easy countries: every Alpha name starts with K and ends in "opoulos", every Beta name starts
# with V and ends in "ov"; a tiny model learns that in a few hundred steps.
SYLLABLES = ["a", "lo", "mi", "ra", "te", "nu", "si", "de"]
ALPHA = [f"K{a}{b}opoulos" for a in SYLLABLES for b in SYLLABLES[:5]]
BETA = [f"V{a}{b}ov" for a in SYLLABLES for b in SYLLABLES[3:]]


def write_folder(folder: Path) -> Path:
    """40 + 1 Alpha names (5 repeated, blank lines, one accented), 40 Beta names (junk lines, two
    repeats that differ only by punctuation)."""
    folder.mkdir(parents=True, exist_ok=True)
    alpha = ALPHA + ALPHA[:5] + ["", "  ", "Kalóbros"]
    beta = BETA + ["To The First Page", BETA[0] + ",", "Maxa/B", BETA[1] + "1"]
    (folder / "Alpha.txt").write_text("\n".join(alpha) + "\n", encoding="utf-8")
    (folder / "Beta.txt").write_text("\n".join(beta) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """User checkpoints, runs and downloads of each test stay in its own tmp_path."""
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def env_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("seqkit-env")
    old = {k: os.environ.get(k) for k in ("SEQKIT_CACHE_DIR", "SEQKIT_DATA_DIR")}
    os.environ["SEQKIT_CACHE_DIR"] = str(base / "cache")
    os.environ["SEQKIT_DATA_DIR"] = str(base / "data")
    yield base
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("names") / "names")


TINY = {"rnn": dict(hidden=32), "lstm": dict(hidden=32, n_embd=16, n_layer=1, steps=300), "gru": dict(hidden=32, n_embd=16),
        "transformer": dict(n_layer=1, n_embd=32, n_head=2), "classifier": dict(hidden=16, n_embd=8)}


@pytest.fixture(scope="session")
def tiny_models(tiny_folder, env_dirs, tmp_path_factory):
    """Each architecture trained briefly on the tiny folder by `seqkit names train`: {arch: checkpoint path}."""
    import torch
    from seqkit_names.training import NAMES_TRAINING

    from seqkit.testing import run_cli

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs")
    paths = {}
    for arch in NAMES_TRAINING.archs:
        if arch == "compressive":
            continue  # another plugin's model type: its own test
        settings = {"steps": 150, **TINY[arch]}
        steps = settings.pop("steps")
        sets = [a for k, v in settings.items() for a in ("--set", f"{k}={v}")]
        r = run_cli(["names", "train", "--arch", arch, "--data", tiny_folder, "--steps", steps, "--lr", 0.01,
                     "--batch-size", 16, "--threads", 1, "--device", "cpu", *sets, "--out", out / arch,
                     "--save", out / "models" / f"{arch}.json"])
        assert r.exit_code == 0, r.output
        paths[arch] = Path(r.stdout.strip())
    return paths


@pytest.fixture(scope="session")
def shared_names() -> Path:
    folder = SHARED / "names"
    if not folder.is_dir():
        pytest.skip(f"../shared/data/names not present: {folder}")
    return folder
