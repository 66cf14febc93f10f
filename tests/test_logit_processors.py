"""Logit processors (seqkit.generation.logit_processors) in both samplers: ``generate`` (torch) and
``generate_numpy`` (the ONNX Runtime path). Property tests: a masked id is never sampled, whatever
the model, temperature, top-k and top-p; a processor sees each row's tokens so far."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqkit import SeqkitError, generate
from seqkit.generation import TokenBias, generate_numpy


class TorchBigram(torch.nn.Module):
    """Next-token logits from a fixed table indexed by the last token (the cache protocol's
    simplest model: no state)."""

    def __init__(self, table: np.ndarray):
        super().__init__()
        self.table = torch.from_numpy(table)
        self.config = SimpleNamespace(max_len=None)

    def forward(self, idx, cond=None, cache=None):
        return self.table[idx], None


class NumpyBigram:
    def __init__(self, table: np.ndarray):
        self.table = table
        self.config = SimpleNamespace(max_len=None)

    def __call__(self, idx, cond=None, cache=None):
        return self.table[np.asarray(idx)], None


def _table(V: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 3, (V, V)).astype(np.float32)


def _both(table, prompt, steps, seed, **kw):
    """The same sampling on both paths: (torch rows, numpy rows) as int arrays."""
    a = generate(TorchBigram(table), torch.tensor(prompt), steps, generator=torch.Generator().manual_seed(seed), **kw)
    b = generate_numpy(NumpyBigram(table), np.array(prompt), steps, rng=np.random.default_rng(seed), **kw)
    return a.numpy(), b


def no_repeats(tokens: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Forbid each row's last token (so no token follows itself)."""
    logits[np.arange(len(tokens)), tokens[:, -1]] = -np.inf
    return logits


sampling = dict(
    V=st.integers(2, 12),
    seed=st.integers(0, 10_000),
    temperature=st.sampled_from([0.0, 0.5, 1.0, 3.0]),
    top_k=st.integers(0, 5),
    top_p=st.sampled_from([1.0, 0.9, 0.3]),
)


@settings(max_examples=15, deadline=None)
@given(data=st.data(), **sampling)
def test_masked_ids_are_never_sampled_on_either_path(data, V, seed, temperature, top_k, top_p):
    banned = data.draw(st.sets(st.integers(0, V - 1), min_size=1, max_size=V - 1))
    prompt = [[data.draw(st.integers(0, V - 1))] for _ in range(4)]
    kw = dict(temperature=temperature, top_k=top_k, top_p=top_p, processors=[TokenBias.ban(banned)])
    for rows in _both(_table(V, seed), prompt, 25, seed, **kw):
        assert rows.shape == (4, 25)
        assert not np.isin(rows, sorted(banned)).any()


@settings(max_examples=12, deadline=None)
@given(data=st.data(), **sampling)
def test_processors_see_each_rows_tokens_and_compose(data, V, seed, temperature, top_k, top_p):
    V = max(V, 3)
    banned = data.draw(st.sets(st.integers(0, V - 1), max_size=V - 2))
    prompt = [[i % V, (i + 1) % V] for i in range(3)]
    kw = dict(temperature=temperature, top_k=top_k, top_p=top_p,
              processors=[no_repeats, TokenBias.ban(banned)] if banned else [no_repeats])
    for rows in _both(_table(V, seed), prompt, 20, seed, **kw):
        full = np.concatenate([np.array(prompt), rows], axis=1)
        assert (full[:, 1:] != full[:, :-1]).all()  # the processor saw the prompt's last token too
        assert not np.isin(rows, sorted(banned)).any()


@settings(max_examples=8, deadline=None)
@given(V=st.integers(3, 12), seed=st.integers(0, 10_000))
def test_greedy_with_processors_is_the_same_on_both_paths(V, seed):
    table = _table(V, seed)
    kw = dict(temperature=0.0, processors=[no_repeats, TokenBias({0: 2.5, V - 1: -1.0})])
    a, b = _both(table, [[1], [2]], 15, seed, **kw)
    assert np.array_equal(a, b)


def test_a_bias_moves_the_distribution():
    table = _table(6, 1)
    a, b = _both(table, [[0]] * 8, 10, 3, processors=[TokenBias({4: 100.0})])
    assert (a == 4).all() and (b == 4).all()


def test_forced_prefix_wins_and_finished_rows_keep_their_logits():
    """A forced token is produced even if a processor masks it; once a row has produced its stop
    token the processors' output for it is ignored (even one that leaves it nothing)."""
    table = _table(5, 2)

    def stop_row0_only(tokens, logits):
        logits[0, 3] += 100.0
        logits[1, 3] = -np.inf
        return logits

    def ban_all_after_stop(tokens, logits):
        logits[tokens[:, -1] == 3] = -np.inf  # only ever true on a finished row
        return logits

    kw = dict(prefix=[[2], [2]], stop_ids=[3], temperature=1.0,
              processors=[TokenBias.ban([2]), stop_row0_only, ban_all_after_stop])
    for rows in _both(table, [[0], [1]], 6, 0, **kw):
        assert rows[:, 0].tolist() == [2, 2]  # forced, although banned
        assert rows[0].tolist() == [2, 3, 3, 3, 3, 3]  # stopped, then filled with its stop token
        assert 3 not in rows[1].tolist() and 2 not in rows[1, 1:].tolist()


@pytest.mark.parametrize("path", ["torch", "numpy"])
def test_a_processor_that_leaves_no_token_is_an_error(path):
    table = _table(4, 0)
    kw = dict(processors=[TokenBias.ban(range(4))])
    with pytest.raises(SeqkitError, match="no token"):
        if path == "torch":
            generate(TorchBigram(table), torch.zeros(2, 1, dtype=torch.long), 5, **kw)
        else:
            generate_numpy(NumpyBigram(table), np.zeros((2, 1), dtype=np.int64), 5, **kw)


def test_token_bias_rejects_ids_outside_the_vocabulary():
    with pytest.raises(SeqkitError, match="out of range"):
        generate(TorchBigram(_table(4, 0)), torch.zeros(1, 1, dtype=torch.long), 2, processors=[TokenBias.ban([9])])
