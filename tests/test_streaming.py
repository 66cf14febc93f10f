"""Models that carry memory across training windows: the protocol, TokenStreams, the Trainer's
memories (one per group, reset chance, resume) and the stream evaluator."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
import torch.nn as nn

from seqkit import ModelType, SeqkitError, Trainer, hookimpl, lm_loss
from seqkit.evaluate import stream_evaluator
from seqkit.testing import check_memory_model, registered
from seqkit.train import MemoryModel, TokenStreams, TrainConfig, carries_memory

torch.set_num_threads(1)
VOCAB = 12


@dataclass
class GRUMemoryConfig:
    hidden: int = 16


class GRUMemoryLM(nn.Module):
    """A GRU language model whose memory is its hidden state: windows read on from it equal one
    long pass exactly. Records every training window's memory in and out."""

    config_class = GRUMemoryConfig

    def __init__(self, config: GRUMemoryConfig | None = None):
        super().__init__()
        torch.manual_seed(0)
        self.config = config or GRUMemoryConfig()
        hidden = self.config.hidden
        self.emb = nn.Embedding(VOCAB, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, VOCAB)
        self.log: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def init_memory(self, batch_size, device):
        return {"h": torch.zeros(batch_size, self.gru.hidden_size, device=device)}  # rows first

    def forward(self, idx, cond=None, cache=None, memory=None):
        h0 = memory["h"][None].contiguous() if memory is not None else cache
        out, h = self.gru(self.emb(idx), h0)
        if memory is None:
            return self.head(out), h
        if self.training:
            self.log.append((idx.clone(), memory["h"].clone(), h[0].detach().clone()))
        return self.head(out), {"h": h[0].detach()}


class _Plugin:  # registers the test model, so that resume can rebuild it from last.json
    @staticmethod
    @hookimpl
    def register_models(register):
        register(ModelType("gru-memory-test", GRUMemoryLM, "test model that carries memory"))


@pytest.fixture
def model_type():
    with registered(_Plugin):
        yield "gru-memory-test"


def saved_streams(run):
    """The stream memories ``run/last.json`` holds (its training state, read as resume reads it)."""
    from safetensors.torch import load_file

    from seqkit.io.checkpoints import read_meta, unflatten_state

    meta = read_meta(run / "last.json")
    return unflatten_state(meta["train_state_layout"], load_file(run / meta["train_state"]))["streams"]


def pieces(n=3, length=20):
    g = torch.Generator().manual_seed(1)
    return [torch.randint(0, VOCAB, (length,), generator=g).numpy() for _ in range(n)]


def config(**kw):
    base = dict(steps=9, batch_size=2, lr=1e-2, eval_every=3, device="cpu", progress=False, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def test_the_test_model_follows_the_protocol():
    model = GRUMemoryLM()
    assert carries_memory(model) and not carries_memory(nn.Linear(2, 2))
    assert isinstance(model, MemoryModel) and not isinstance(nn.Linear(2, 2), MemoryModel)
    check_memory_model(model, VOCAB, batch_size=3, windows=4, window=5)


def test_check_memory_model_catches_a_memory_that_is_not_carried():
    class Forgetful(GRUMemoryLM):
        def forward(self, idx, cond=None, cache=None, memory=None):
            logits, _ = super().forward(idx)
            return logits, None if memory is None else self.init_memory(idx.size(0), idx.device)

    with pytest.raises(AssertionError):
        check_memory_model(Forgetful(), VOCAB, window=5)


def test_token_streams_rows_read_on_within_their_group():
    ds = TokenStreams(pieces(), seq_len=5, seed=0, groups=2)
    batches = ds.batches(epoch=0, batch_size=2)
    assert len(batches) == 6 and ds.stream_groups == 2  # 60 tokens // (4 streams x 5) = 3 chunks x 2 groups
    for t in range(2, len(batches)):
        for b in range(2):
            before, now = ds[batches[t - 2][b]], ds[batches[t][b]]
            assert now["input"][0] == before["target"][-1]  # row b of group t % 2 continues
    # ranks get disjoint streams of the same group
    r0 = ds.batches(epoch=0, batch_size=2, rank=0, world=2)
    r1 = ds.batches(epoch=0, batch_size=2, rank=1, world=2)
    assert len(r0) == len(r1) and not set(r0[0]) & set(r1[0])


def test_the_trainer_carries_one_memory_per_group_and_starts_each_epoch_empty(tmp_path):
    model = GRUMemoryLM()
    ds = TokenStreams(pieces(), seq_len=5, seed=0, groups=2)
    trainer = Trainer(model, config(), ds, out=tmp_path / "run")
    per_epoch = trainer.batches_per_epoch()
    assert per_epoch == 6
    trainer.fit()
    assert len(model.log) == 9
    zero = torch.zeros(2, 16)
    for step, (_idx, mem_in, _) in enumerate(model.log):
        in_epoch = step % per_epoch
        if in_epoch < 2:  # each group's first window of an epoch: empty memory
            assert torch.equal(mem_in, zero), step
        else:  # reads on from what the same group's previous step left
            assert torch.equal(mem_in, model.log[step - 2][2]), step
    saved = saved_streams(tmp_path / "run")
    assert saved["groups"] == 2 and set(saved["memories"]) == {0, 1}
    torch.testing.assert_close(saved["memories"][(9 - 1) % 2]["h"], model.log[-1][2])


def test_carried_memories_equal_one_long_pass_over_each_stream(tmp_path):
    """What the Trainer hands the model, window after window of a stream, is what one pass over
    the whole stream computes (read in eval mode with the same weights)."""
    model = GRUMemoryLM()
    ds = TokenStreams(pieces(), seq_len=5, seed=0, groups=1)
    Trainer(model, config(steps=3, eval_every=0, lr=1e-9, optimizer="sgd"), ds, out=tmp_path / "run").fit()
    rows = torch.cat([idx for idx, _, _ in model.log], dim=1)  # the 3 windows of each stream
    model.eval()
    with torch.no_grad():
        _, h = model.gru(model.emb(rows))
    torch.testing.assert_close(model.log[-1][2], h[0], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("reset", [0.0, 0.5, 1.0])
def test_memory_reset_is_the_chance_a_step_starts_empty(tmp_path, reset):
    model = GRUMemoryLM()
    ds = TokenStreams(pieces(6, 40), seq_len=5, seed=0, groups=1)
    Trainer(model, config(steps=20, memory_reset=reset, eval_every=0), ds, out=tmp_path / "run").fit()
    empty = [not mem_in.any() for _, mem_in, _ in model.log[1:]]
    assert sum(empty) == {0.0: 0, 1.0: 19}.get(reset, sum(empty))
    if reset == 0.5:
        assert 3 <= sum(empty) <= 16


def test_a_streamed_run_resumed_after_ctrl_c_equals_an_uninterrupted_one(tmp_path, model_type):
    ds = TokenStreams(pieces(), seq_len=5, seed=0, groups=2)
    whole = GRUMemoryLM()
    Trainer(whole, config(memory_reset=0.3), ds, out=tmp_path / "whole").fit()

    calls = []

    def stop_at_step_5(model, batch):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return lm_loss(model, batch)

    info = {"checkpoint": {"model_type": model_type}}
    first = Trainer(GRUMemoryLM(), config(memory_reset=0.3), ds, loss_fn=stop_at_step_5, out=tmp_path / "cut", **info)
    assert first.fit()["interrupted"] and first.step == 5
    resumed = GRUMemoryLM()
    second = Trainer(resumed, config(memory_reset=0.3), ds, out=tmp_path / "cut", **info)
    assert second.fit(resume=True)["steps"] == 9
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert [m for _, m, _ in whole.log[5:]] and all(
        torch.equal(a, b) for (_, a, _), (_, b, _) in zip(whole.log[5:], resumed.log))


def test_stream_settings_that_cannot_work_are_one_error(tmp_path):
    ds = TokenStreams(pieces(), seq_len=5)
    with pytest.raises(SeqkitError, match="memory_reset needs a model that carries memory"):
        Trainer(nn.Linear(2, 2), config(memory_reset=0.1), ds, out=tmp_path / "a")

    class Segmented(GRUMemoryLM):
        memory_segment = 4

    with pytest.raises(SeqkitError, match="5 tokens is not a multiple of the model's segment 4"):
        Trainer(Segmented(), config(), ds, out=tmp_path / "b")
    with pytest.raises(SeqkitError, match="memory_reset is a chance"):
        config(memory_reset=1.5)


def test_stream_evaluator_scores_each_piece_as_one_pass():
    model = GRUMemoryLM().eval()
    ps = pieces(3, 23)
    res = stream_evaluator(ps, seq_len=4, batch_size=2, pad_id=0)(model)
    total = 0.0
    with torch.no_grad():
        for p in ps:
            ids = torch.as_tensor(p, dtype=torch.long)[None]
            logits, _ = model(ids[:, :-1])
            total += nn.functional.cross_entropy(logits[0], ids[0, 1:], reduction="sum").item()
    assert res["tokens"] == 3 * 22
    assert math.isclose(res["loss"], total / res["tokens"], rel_tol=1e-5)


DDP_SCRIPT = """
import sys, torch
sys.path.insert(0, {tests!r})
torch.set_num_threads(1)
from test_streaming import GRUMemoryLM, config, pieces
from seqkit import Trainer
from seqkit.train import TokenStreams
model = GRUMemoryLM()
t = Trainer(model, config(steps=6, eval_every=0), TokenStreams(pieces(4, 40), seq_len=5, groups=2), out=sys.argv[1])
t.fit()
for step, (_, mem_in, _) in enumerate(model.log):  # each rank carries its own rows' memories
    assert torch.equal(mem_in, model.log[step - 2][2] if step >= 2 else torch.zeros_like(mem_in)), step
w = torch.cat([p.detach().flatten() for p in model.parameters()])
torch.save({{"weights": w, "inputs": torch.stack([idx for idx, _, _ in model.log])}}, f"{{sys.argv[1]}}/rank{{t.rank}}.pt")
"""


def test_streams_under_torchrun_shard_rows_by_rank_and_carry_each_ranks_memories(tmp_path):
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "train.py"
    script.write_text(DDP_SCRIPT.format(tests=str(Path(__file__).parent)))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                           port, str(script), str(tmp_path / "run")], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    r0, r1 = (torch.load(tmp_path / "run" / f"rank{r}.pt") for r in (0, 1))
    assert torch.equal(r0["weights"], r1["weights"])  # one model, synchronised
    assert r0["inputs"].shape == (6, 2, 5) and not torch.equal(r0["inputs"], r1["inputs"])  # each rank its streams


def test_prepare_can_ask_whether_the_architecture_carries_memory(model_type):
    """``TrainRun.carries_memory``: a recipe's ``prepare(run)`` deals streams to a model that
    carries memory, windows to any other (docs/plugins.md, the train command kit)."""
    from seqkit.train import TrainRun

    def run(name):
        return TrainRun(None, "a", {}, {}, {}, 0, model_type=name)

    assert run(model_type).carries_memory is True
    assert run("rnn-lm").carries_memory is False and run("").carries_memory is False
