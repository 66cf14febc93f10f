"""The PyTorch name-generation tutorial's RNN cell, as a seqkit language model (``names-rnn``).

One step, exactly as in the tutorial::

    combined = cat(one_hot(country), one_hot(char), hidden)
    hidden'  = i2h(combined)                      # linear: the tutorial has no non-linearity here
    output   = o2o(cat(hidden', i2o(combined)))   # then dropout(0.1); softmax gives the next char

The parameters are the tutorial's three ``nn.Linear`` layers. The forward pass computes the
input parts of ``i2h``/``i2o`` for all steps at once and loops only over the recurrence, which
gives the same numbers as the step-by-step cell, several times faster.

Call convention of every seqkit LM: ``logits, cache = model(idx, cond, cache)``; the cache is the
hidden state ``[B, hidden]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class TutorialRNNConfig:
    vocab_size: int
    n_cond: int = 18  # countries, one-hot
    hidden: int = 128
    dropout: float = 0.1

    def __post_init__(self):  # a bad setting is one Error line (make_config), naming it
        from seqkit import check_sizes

        check_sizes(self, "vocab_size", "n_cond", "hidden")


class TutorialRNN(nn.Module):
    config_class = TutorialRNNConfig

    def __init__(self, config: TutorialRNNConfig):
        super().__init__()
        self.config = c = config
        n_in = c.n_cond + c.vocab_size + c.hidden
        self.i2h = nn.Linear(n_in, c.hidden)
        self.i2o = nn.Linear(n_in, c.vocab_size)
        self.o2o = nn.Linear(c.hidden + c.vocab_size, c.vocab_size)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, idx, cond=None, cache=None):
        c = self.config
        B, T = idx.shape
        if cond is None:
            raise ValueError("names-rnn is conditional: pass cond (country ids)")
        x = torch.cat([F.one_hot(cond, c.n_cond)[:, None, :].expand(B, T, c.n_cond),
                       F.one_hot(idx, c.vocab_size)], dim=-1).to(self.i2h.weight.dtype)
        n_x = c.n_cond + c.vocab_size
        # input parts of i2h and i2o for every step; the hidden parts inside the loop
        xh = F.linear(x, self.i2h.weight[:, :n_x], self.i2h.bias)
        xo = F.linear(x, self.i2o.weight[:, :n_x], self.i2o.bias)
        w_hh, w_ho = self.i2h.weight[:, n_x:], self.i2o.weight[:, n_x:]
        h = cache if cache is not None else x.new_zeros(B, c.hidden)
        prev, new = [], []
        for t in range(T):
            prev.append(h)
            h = xh[:, t] + h @ w_hh.T
            new.append(h)
        h_prev, h_new = torch.stack(prev, 1), torch.stack(new, 1)
        out = xo + h_prev @ w_ho.T
        logits = self.dropout(self.o2o(torch.cat([h_new, out], dim=-1)))
        return logits, h

    def onnx_graphs(self):
        """The step graph for ``seqkit export-onnx``: one character per call, the hidden state in
        and out."""
        from seqkit import lm_graph

        c = self.config
        return lm_graph(self, c, (torch.zeros(2, c.hidden),), [["B", c.hidden]], {0: "B"}, tokens_per_call=1)

    def step(self, char, cond, hidden):
        """One step of the tutorial's cell, literally (for tests and reading): logits, hidden."""
        c = self.config
        combined = torch.cat([F.one_hot(cond, c.n_cond), F.one_hot(char, c.vocab_size)], -1)
        combined = torch.cat([combined.to(hidden.dtype), hidden], dim=-1)
        hidden = self.i2h(combined)
        output = self.o2o(torch.cat([hidden, self.i2o(combined)], dim=-1))
        return self.dropout(output), hidden
