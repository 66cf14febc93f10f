import os
from pathlib import Path

import pytest
import seqkit_abc.plugin as plugin

from seqkit.testing import run_cli

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("SEQKIT_SHARED_DATA", REPO.parent / "shared" / "data"))

TUNES = [
    "X:1\nT:Tiny Reel\nM:4/4\nL:1/8\nK:D\n|:DEFG ABcd|edcB AFD2:|",
    "X:2\nT:Tiny Jig\nM:6/8\nL:1/8\nK:G\n|:GAB cde|dcB A3:|",
    "X:3\nT:Tiny Waltz\nM:3/4\nL:1/4\nK:C\n|C E G|c G E|C3|]",
]


def course_text(tunes, n=1, newline="\n"):
    text = "".join(f"<start>\n{t}\n<end>\n" for _ in range(n) for t in tunes).rstrip("\n")
    return text.replace("\n", newline)


def shared(*parts):
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/data/{'/'.join(parts)} not present: the real-data checks need it")
    return path


def cli(args, tmp_path=None, **kw):
    env = {"SEQKIT_DATA_DIR": str(tmp_path / "seqkit-data")} if tmp_path else {}
    return run_cli(args, plugins=[plugin], env=env, **kw)


class Helpers:
    TUNES = TUNES
    course_text = staticmethod(course_text)
    shared = staticmethod(shared)
    cli = staticmethod(cli)


@pytest.fixture(scope="session")
def h():
    """Helpers shared by the tests (conftest is not importable under --import-mode=importlib)."""
    return Helpers


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A tiny LSTM trained by `seqkit abc train` on three short tunes (about 2 s)."""
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("abc")
    train = root / "train.txt"
    train.write_text(course_text(TUNES, n=20))
    val = root / "val.txt"
    val.write_text(course_text(TUNES))
    out = root / "run"
    result = cli(["abc", "train", "--data", train, "--val", val, "--set", "hidden=48", "--set", "n_embd=16",
                  "--seq-len", "48", "--batch-size", "16", "--lr", "1e-2", "--epochs", "12",
                  "--set", "patience=0", "--out", out, "--save", "tiny", "--device", "cpu", "--json"], root)
    assert result.exit_code == 0, result.output
    return {"root": root, "train": train, "val": val, "ckpt": out / "best.json", "result": result}
