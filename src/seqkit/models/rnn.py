"""Recurrent language model (RNN, LSTM or GRU) with optional class conditioning.

The class (e.g. a country) is one-hot (``cond_dim=0``) or embedded (``cond_dim>0``) and
concatenated to the input of every step, so the whole sequence is conditioned on it.

Call convention shared by every seqkit LM: ``logits, cache = model(idx, cond=None, cache=None)``;
the cache is the recurrent state.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from seqkit.models.settings import check_sizes


@dataclass
class RNNConfig:
    vocab_size: int
    cell: str = "gru"  # rnn | lstm | gru
    n_embd: int = 64
    hidden: int = 256
    n_layer: int = 1
    dropout: float = 0.0
    n_cond: int = 0  # number of classes to condition on (0 = unconditional)
    cond_dim: int = 0  # 0 = one-hot, else an embedding of this size

    def __post_init__(self):
        if self.cell not in ("rnn", "lstm", "gru"):
            raise ValueError(f"cell must be rnn, lstm or gru, not {self.cell!r}")
        check_sizes(self, "n_embd", "hidden", "n_layer")


class RNNLM(nn.Module):
    config_class = RNNConfig

    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Embedding(c.vocab_size, c.n_embd)
        cond_size = 0
        if c.n_cond:
            if c.cond_dim:
                self.cond_embed = nn.Embedding(c.n_cond, c.cond_dim)
                cond_size = c.cond_dim
            else:
                cond_size = c.n_cond
        rnn_cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[c.cell]
        self.rnn = rnn_cls(c.n_embd + cond_size, c.hidden, num_layers=c.n_layer, batch_first=True,
                           dropout=c.dropout if c.n_layer > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden, c.vocab_size)

    def _inputs(self, idx, cond):
        x = self.drop(self.embed(idx))
        if self.config.n_cond:
            if cond is None:
                raise ValueError("this model is conditional: pass cond")
            if self.config.cond_dim:
                v = self.cond_embed(cond)
            else:
                v = F.one_hot(cond, self.config.n_cond).to(x.dtype)
            x = torch.cat([x, v[:, None, :].expand(-1, idx.size(1), -1)], dim=-1)
        return x

    def hidden_sequence(self, idx, cond=None):
        """Top-layer outputs for every step, ``[B, T, hidden]`` (for activation heatmaps)."""
        out, _ = self.rnn(self._inputs(idx, cond))
        return out

    def forward(self, idx, cond=None, cache=None):
        out, state = self.rnn(self._inputs(idx, cond), cache)
        return self.head(self.drop(out)), state
