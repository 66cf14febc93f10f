import json

import pytest
import torch
from helpers import pattern_data

from seqkit import SeqkitError, Trainer, get_model_type, load_checkpoint
from seqkit.models import RNNConfig, TransformerConfig
from seqkit.train import TrainConfig


def _trainer(out, steps=30, arch="rnn-lm", loss_fn=None, **kw):
    tok, items = pattern_data()
    if arch == "rnn-lm":
        cfg = RNNConfig(vocab_size=tok.vocab_size, cell="gru", hidden=32)
    else:
        cfg = TransformerConfig(vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=32, max_len=32)
    torch.manual_seed(0)
    model = get_model_type(arch).build(cfg)
    config = TrainConfig(steps=steps, batch_size=16, lr=1e-2, progress=False, eval_every=10, **kw)
    extra = {} if loss_fn is None else {"loss_fn": loss_fn}
    return Trainer(model, config, items[:80], items[80:], out=out,
                   checkpoint=dict(model_type=arch, config=cfg, tokenizer=tok, task="test"), **extra)


@pytest.mark.parametrize("arch", ["rnn-lm", "transformer-lm"])
def test_loss_falls_and_files_written(tmp_path, arch):
    seen = []
    trainer = _trainer(tmp_path, steps=40, arch=arch)
    trainer.on_eval = seen.append
    result = trainer.fit()
    assert seen == result["history"]
    hist = result["history"]
    import math

    uniform = math.log(load_checkpoint(tmp_path / "best.json").tokenizer.vocab_size)
    assert hist[0]["val_loss"] < uniform  # learning from the first evaluation on
    assert hist[-1]["val_loss"] < 0.3 * uniform
    assert hist[-1]["val_acc"] > 0.7
    assert result["best_val_loss"] == min(h["val_loss"] for h in hist)
    for name in ("last.json", "best.json", "metrics.jsonl", "loss.png"):
        assert (tmp_path / name).exists(), name
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30, 40]
    ckpt = load_checkpoint(tmp_path / "best.json")
    assert ckpt.meta["task"] == "test" and ckpt.tokenizer.vocab_size > 4


def test_interrupted_run_resumes_where_it_stopped(tmp_path):
    full = _trainer(tmp_path / "full", steps=30)
    full.fit()

    calls = {"n": 0}

    def flaky_loss(model, batch):
        from seqkit import lm_loss

        calls["n"] += model.training  # count training steps only, not evaluation batches
        if model.training and calls["n"] == 18:  # Ctrl-C in the middle of step 18
            raise KeyboardInterrupt
        return lm_loss(model, batch)

    first = _trainer(tmp_path / "cut", steps=30, loss_fn=flaky_loss)
    r = first.fit()
    assert r["interrupted"] and r["steps"] == 17
    meta = json.loads((tmp_path / "cut" / "last.json").read_text())
    assert meta["trainer"]["step"] == 17
    second = _trainer(tmp_path / "cut", steps=30)
    r2 = second.fit(resume=True)
    assert r2["steps"] == 30 and not r2["interrupted"]
    a = full.raw_model.state_dict()
    b = second.raw_model.state_dict()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k


def test_refuses_to_overwrite_a_run_without_resume(tmp_path):
    _trainer(tmp_path, steps=10).fit()
    with pytest.raises(SeqkitError, match="--resume"):
        _trainer(tmp_path, steps=10).fit()


def test_check_run_folder_refuses_what_cannot_take_a_run(tmp_path):
    from seqkit.train import check_run_folder

    assert check_run_folder(tmp_path / "new" / "run") == tmp_path / "new" / "run"  # made later
    (tmp_path / "file").write_text("x")
    with pytest.raises(SeqkitError, match="is a file; give a folder for the run"):
        check_run_folder(tmp_path / "file")
    with pytest.raises(SeqkitError, match="is a file"):  # and fit() checks it too
        _trainer(tmp_path / "file", steps=2).fit()
    (tmp_path / "old" / "last.json").parent.mkdir()
    (tmp_path / "old" / "last.json").write_text("{}")
    with pytest.raises(SeqkitError, match="already holds a run; pass --resume"):
        check_run_folder(tmp_path / "old")
    assert check_run_folder(tmp_path / "old", resume=True) == tmp_path / "old"


def test_resume_with_different_model_settings_is_a_clear_error(tmp_path):
    from seqkit import CheckpointError

    _trainer(tmp_path, steps=2).fit()
    with pytest.raises(CheckpointError, match=r"different model settings.*shape") as err:
        tok, items = pattern_data()
        cfg = RNNConfig(vocab_size=tok.vocab_size, cell="gru", hidden=16)
        model = get_model_type("rnn-lm").build(cfg)
        Trainer(model, TrainConfig(steps=4, batch_size=16, progress=False), items[:80], out=tmp_path,
                checkpoint=dict(model_type="rnn-lm", config=cfg, tokenizer=tok)).fit(resume=True)
    assert str(tmp_path) in str(err.value)
    with pytest.raises(CheckpointError, match="not in the model|missing from the checkpoint"):
        _trainer(tmp_path, steps=4, arch="transformer-lm").fit(resume=True)


def test_early_stopping(tmp_path):
    tok, items = pattern_data()
    cfg = RNNConfig(vocab_size=tok.vocab_size, hidden=8)
    model = get_model_type("rnn-lm").build(cfg)
    # lr so small the validation loss cannot improve by more than noise: patience ends it
    config = TrainConfig(epochs=50, batch_size=16, lr=1e-9, patience=2, progress=False, optimizer="sgd")
    r = Trainer(model, config, items[:32], items[32:48], out=tmp_path,
                checkpoint=dict(model_type="rnn-lm", config=cfg)).fit()
    assert r["stopped_early"] and r["epochs"] < 50


def test_bad_config_is_a_clear_error():
    with pytest.raises(SeqkitError, match="epochs or steps"):
        TrainConfig()
    with pytest.raises(SeqkitError, match="optimizer"):
        TrainConfig(steps=1, optimizer="lion")
    with pytest.raises(SeqkitError, match="learning rate must be positive"):
        TrainConfig(steps=1, lr=float("nan"))
    with pytest.raises(SeqkitError, match="patience must be 0 or more"):
        TrainConfig(steps=1, patience=-1)
    with pytest.raises(SeqkitError, match="steps must be 0 or more"):
        TrainConfig(epochs=1, steps=-3)
    with pytest.raises(SeqkitError, match="weight_decay must be a finite number"):
        TrainConfig(steps=1, weight_decay=float("inf"))


class _Ordered(torch.utils.data.Dataset):
    """A training set that orders its own batches: row b of each batch continues row b."""

    def __init__(self, items):
        self.items = items
        self.calls = []

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return {**self.items[i % len(self.items)], "index": torch.tensor(i)}

    def batches(self, epoch, batch_size, seed, rank, world):
        self.calls.append((epoch, batch_size, seed, rank, world))
        steps = len(self.items) // batch_size
        return [[epoch * 1000 + step + row * steps for row in range(batch_size)] for step in range(steps)]


def test_a_training_set_may_order_its_own_batches(tmp_path):
    tok, items = pattern_data()
    train = _Ordered(items[:80])
    seen = []

    def loss(model, batch):
        from seqkit import lm_loss

        if model.training:
            seen.append(batch["index"].tolist())
        return lm_loss(model, {k: v for k, v in batch.items() if k != "index"})

    cfg = RNNConfig(vocab_size=tok.vocab_size, cell="gru", hidden=16)
    model = get_model_type("rnn-lm").build(cfg)
    trainer = Trainer(model, TrainConfig(epochs=2, batch_size=16, progress=False, seed=3), train,
                      items[80:], loss_fn=loss, out=tmp_path,
                      checkpoint=dict(model_type="rnn-lm", config=cfg, tokenizer=tok, task="test"))
    assert trainer.batches_per_epoch() == 5
    result = trainer.fit()
    assert result["steps"] == 10 and result["epochs"] == 2
    assert seen[:5] == train.batches(0, 16, 3, 0, 1) and seen[5:] == train.batches(1, 16, 3, 0, 1)
    assert seen[1] == [i + 1 for i in seen[0]]  # every row read on
    assert (0, 16, 3, 0, 1) in train.calls


def test_an_evaluator_scores_instead_of_the_validation_set(tmp_path):
    """evaluator(model) replaces the scoring of val_set: its numbers are logged and choose best.json."""
    scores = iter([3.0, 1.0, 2.0])
    calls = []

    def evaluator(model):
        calls.append((model.training, torch.is_grad_enabled()))
        return {"loss": next(scores), "acc": 0.5, "tokens": 10}

    trainer = _trainer(tmp_path, steps=30)
    trainer.evaluator = evaluator
    result = trainer.fit()
    assert calls == [(False, False)] * 3  # eval mode, no gradients
    assert [h["val_loss"] for h in result["history"]] == [3.0, 1.0, 2.0]
    assert result["best_val_loss"] == 1.0
    best = load_checkpoint(tmp_path / "best.json")
    assert best.meta["metrics"]["val_loss"] == 1.0 and best.meta["metrics"]["steps"] == 20
    assert trainer.raw_model.training  # back to training mode afterwards


def test_without_validation_data_the_training_loss_is_not_called_validation(tmp_path):
    trainer = _trainer(tmp_path, steps=20)
    trainer.val_set = None
    result = trainer.fit()
    assert result["best_val_loss"] is None and result["best_val_acc"] is None
    assert result["best_train_loss"] == min(h["train_loss"] for h in result["history"])
    metrics = load_checkpoint(tmp_path / "best.json").meta["metrics"]
    assert "val_loss" not in metrics and metrics["train_loss"] == result["best_train_loss"]


def test_sampling_refuses_temperatures_it_cannot_use():
    from seqkit import generate

    tok, _ = pattern_data()
    model = get_model_type("rnn-lm").build(RNNConfig(vocab_size=tok.vocab_size, cell="gru", hidden=8))
    prompt = torch.tensor([[tok.bos_id]])
    for bad in (float("inf"), float("nan"), -1.0):
        with pytest.raises(SeqkitError, match="temperature must be a finite number"):
            generate(model, prompt, 3, temperature=bad)


def test_tensorboard_events_read_back(tmp_path):
    """``TrainConfig(tensorboard=True)`` (``--tensorboard``): each evaluation's losses are also
    TensorBoard scalars in RUN/tensorboard/, which TensorBoard's own reader reads back."""
    pytest.importorskip("tensorboard", reason="the tensorboard extra: pip install tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = _trainer(tmp_path, steps=30, tensorboard=True).fit()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert {"loss/train", "loss/val", "accuracy/val", "learning_rate"} <= set(events.Tags()["scalars"])
    val = events.Scalars("loss/val")
    assert [e.step for e in val] == [10, 20, 30]
    assert [e.value for e in val] == pytest.approx([h["val_loss"] for h in result["history"]], rel=1e-6)


def test_tensorboard_missing_is_one_clear_error_before_training(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed
    with pytest.raises(SeqkitError, match=r"--tensorboard needs the tensorboard package: pip install tensorboard"):
        _trainer(tmp_path, steps=10, tensorboard=True).fit()
    assert not (tmp_path / "metrics.jsonl").exists() and not (tmp_path / "last.json").exists()
