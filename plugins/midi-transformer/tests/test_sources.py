"""`--dataset`, `--dataset-option`, `--tokenizer`, `--tokenizer-option`: anything registered for music.

A stand-in plugin registers a dataset loader that returns MIDI paths (the contract another plugin's
loader follows, like the compressive plugin's lakh-clean-midi) and one for another task.
"""

import json
from pathlib import Path

import pytest
import seqkit_midi_transformer.plugin as plugin
from music_helpers import make_midi, scale_notes

from seqkit import DatasetType, hookimpl
from seqkit.testing import run_cli


def pick_midi(path, pattern: str = "*.mid", max_files: int = 0, sorted_: bool = True):
    """A music dataset loader of the simplest kind: the MIDI files it selected."""
    files = sorted(Path(path).glob(pattern))
    return files[:max_files] if max_files else files


class StandIn:
    @hookimpl
    def register_datasets(self, register):
        register(DatasetType("picked-midi", pick_midi, "test: MIDI files by pattern", task="music"))
        register(DatasetType("text-lines", lambda path: [], "test: not music", task="poems"))


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin, StandIn()])


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "songs"
    root.mkdir()
    for i in range(6):
        make_midi(root / f"{'ab'[i % 2]}{i}.mid", scale_notes(30, seed=i))
    return root


TINY = ["--preset", "tiny", "--seq-len", 16, "--steps", 1, "--batch-size", 2, "--device", "cpu", "--json"]


def test_a_registered_loader_that_returns_paths(folder, tmp_path):
    r = cli("music", "train", "--data", folder, "--dataset", "picked-midi", "--dataset-option", "pattern=a*.mid",
            "--tokenizer-option", "sustain=false", *TINY, "--out", tmp_path / "run")
    assert r.exit_code == 0, r.output
    assert "picked-midi: 3 MIDI files selected" in r.stderr
    meta = json.loads((tmp_path / "run" / "best.json").read_text())
    assert meta["data"]["dataset"] == "picked-midi" and meta["data"]["options"] == {"pattern": "a*.mid"}
    assert meta["tokenizer"]["type"] == "performance" and meta["tokenizer"]["sustain"] is False
    assert meta["data"]["train_tokens"] > 0
    # eval on the same data reuses the recorded loader and options, so the split is the same
    r = cli("music", "eval", "--model", tmp_path / "run" / "best.json", "--data", folder, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["pieces"] == 1  # 3 files: 1 train, 1 validation, 1 test
    # resume keeps the run's tokenizer: a different one is refused
    r = cli("music", "train", "--data", folder, "--dataset", "picked-midi", "--resume", "--tokenizer-option",
            "sustain=true", *TINY, "--out", tmp_path / "run")
    assert r.exit_code == 2 and "the checkpoint's performance tokenizer is fixed" in r.output


def test_builtin_loaders_take_their_keywords(folder, tmp_path):
    r = cli("music", "tokenize", "--data", folder, "--dataset", "midi-folder", "--dataset-option", "fraction=0.25",
            "--dataset-option", "seed=2", "--out", tmp_path / "t.npz", "--json")
    assert r.exit_code == 0, r.output
    splits = json.loads(r.stdout)["splits"]
    assert (splits["validation"]["pieces"], splits["test"]["pieces"]) == (2, 1)
    r = cli("music", "train", "--data", folder, "--dataset", "maestro", "--dataset-option", "year=2004", *TINY)
    assert r.exit_code == 2 and "dataset 'maestro' has no such option (known: none)" in r.output


@pytest.mark.parametrize("args, message", [
    (["--dataset", "picked-mid"], "unknown music dataset 'picked-mid'; did you mean picked-midi?"),
    (["--dataset", "text-lines"], "dataset 'text-lines' is for the poems task, not music"),
    (["--dataset", "picked-midi", "--dataset-option", "max_files=many"], "--dataset-option max_files=many: expected int"),
    (["--dataset", "picked-midi", "--dataset-option", "patern=x"], "has no such option; did you mean pattern?"),
    (["--dataset", "picked-midi", "--dataset-option", "pattern=*.wav"], "dataset 'picked-midi' selected no MIDI files"),
    (["--tokenizer", "performence"], "unknown tokenizer 'performence'; did you mean performance?"),
    (["--tokenizer", "word"], "tokenizer 'word' is not a music tokenizer"),
    (["--tokenizer-option", "sustain=maybe"], "--tokenizer-option sustain=maybe: expected bool"),
])
def test_bad_choices(folder, tmp_path, args, message):
    r = cli("music", "train", "--data", folder, *args, *TINY, "--out", tmp_path / "r")
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error: ") and r.output.count("\n") == 1, r.output
    assert message in r.output
