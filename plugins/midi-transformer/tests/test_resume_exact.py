"""A music run stopped half-way and resumed ends with the very weights of an uninterrupted run
(on the CPU, with random augmented windows: how many were drawn is in last.json)."""

import json
import signal

import seqkit_midi_transformer.plugin as plugin

from seqkit.testing import run_cli


def _stop_at(monkeypatch, step: int):
    from seqkit.train import trainer as training

    real = training.Trainer._train_step

    def train_step(self, batch, window):
        lr = real(self, batch, window)
        if self.step == step:
            self._stop = signal.SIGINT  # what the Trainer's Ctrl-C handler sets
        return lr

    monkeypatch.setattr(training.Trainer, "_train_step", train_step)


def _tensors(run):
    from safetensors.torch import load_file

    meta = json.loads((run / "last.json").read_text())
    return {**load_file(run / meta["weights"]),
            **{f"state.{k}": v for k, v in load_file(run / meta["train_state"]).items()}}


def test_a_resumed_music_run_equals_an_uninterrupted_one(tmp_path, maestro_folder, monkeypatch):
    import torch

    args = ["music", "train", "--data", maestro_folder, "--preset", "tiny", "--set", "dropout=0.2",
            "--seq-len", 32, "--batch-size", 4, "--steps", 8, "--set", "eval_every=3", "--device", "cpu"]

    def cli(*more):
        return run_cli([str(a) for a in [*args, *more]], plugins=[plugin])

    straight = cli("--out", tmp_path / "a", "--save", tmp_path / "a.json")
    assert straight.exit_code == 0, straight.output
    with monkeypatch.context() as m:
        _stop_at(m, 4)
        stopped = cli("--out", tmp_path / "b", "--save", tmp_path / "b.json")
    assert stopped.exit_code == 0 and "interrupted by SIGINT at step 4" in stopped.stderr, stopped.output
    resumed = cli("--out", tmp_path / "b", "--save", tmp_path / "b.json", "--resume")
    assert resumed.exit_code == 0, resumed.output
    a, b = _tensors(tmp_path / "a"), _tensors(tmp_path / "b")
    assert a.keys() == b.keys()
    differ = {k: (a[k].double() - b[k].double()).abs().max().item() for k in a if not torch.equal(a[k], b[k])}
    assert differ == {}
