"""A run stopped half-way and resumed ends with the very weights of an uninterrupted run (on the
CPU, dropout and the random training slices included: the slices' generator is in last.json)."""

import signal

import pytest


def _stop_at(monkeypatch, step: int):
    """Ctrl-C (the Trainer's own flag, as its signal handler sets it) once ``step`` steps are done."""
    from seqkit.train import trainer as training

    real = training.Trainer._train_step

    def train_step(self, batch, window):
        lr = real(self, batch, window)
        if self.step == step:
            self._stop = signal.SIGINT
        return lr

    monkeypatch.setattr(training.Trainer, "_train_step", train_step)


def _tensors(run):
    import json

    from safetensors.torch import load_file

    meta = json.loads((run / "last.json").read_text())
    return {**load_file(run / meta["weights"]), **{f"state.{k}": v for k, v in
                                                  load_file(run / meta["train_state"]).items()}}


@pytest.mark.parametrize("dropout", [0.3, 0.0])
def test_a_resumed_abc_run_equals_an_uninterrupted_one(h, tiny_run, tmp_path, monkeypatch, dropout):
    import torch

    args = ["abc", "train", "--data", tiny_run["train"], "--val", tiny_run["val"], "--set", "hidden=16",
            "--set", "n_embd=8", "--set", f"dropout={dropout}", "--set", "n_layer=2", "--seq-len", "24",
            "--batch-size", "4", "--steps", "8", "--set", "eval_every=3", "--device", "cpu", "--seed", "5"]
    straight = h.cli([*args, "--out", tmp_path / "a", "--save", tmp_path / "a.json"], tmp_path)
    assert straight.exit_code == 0, straight.output
    with monkeypatch.context() as m:
        _stop_at(m, 4)
        stopped = h.cli([*args, "--out", tmp_path / "b", "--save", tmp_path / "b.json"], tmp_path)
    assert stopped.exit_code == 0 and "interrupted by SIGINT at step 4" in stopped.stderr, stopped.output
    resumed = h.cli([*args, "--out", tmp_path / "b", "--save", tmp_path / "b.json", "--resume"], tmp_path)
    assert resumed.exit_code == 0, resumed.output
    a, b = _tensors(tmp_path / "a"), _tensors(tmp_path / "b")
    assert a.keys() == b.keys()
    differ = {k: (a[k].double() - b[k].double()).abs().max().item() for k in a if not torch.equal(a[k], b[k])}
    assert differ == {}
