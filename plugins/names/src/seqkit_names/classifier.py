"""Character-level country classifier (the tutorial's classification task), ``names-classifier``.

Characters are embedded, read by a bidirectional GRU, and the two final states predict the
country. Training weights each name by the inverse of its country's frequency so that every country
counts the same (Vietnamese has 70 names, Russian 9,340): the eval averages over countries.

``logits = model(idx)``: ``idx`` is ``[B, T]`` padded on the right with ``config.pad_id``;
``logits`` is ``[B, n_classes]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ClassifierConfig:
    vocab_size: int
    n_classes: int = 18
    n_embd: int = 32
    hidden: int = 128
    dropout: float = 0.2
    pad_id: int = 0

    def __post_init__(self):  # a bad setting is one Error line (make_config), naming it
        from seqkit import check_sizes

        check_sizes(self, "vocab_size", "n_classes", "n_embd", "hidden")


class NameClassifier(nn.Module):
    config_class = ClassifierConfig

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size, c.n_embd, padding_idx=c.pad_id)
        self.rnn = nn.GRU(c.n_embd, c.hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(2 * c.hidden, c.n_classes)

    def forward(self, idx):
        lengths = (idx != self.config.pad_id).sum(1).clamp(min=1).cpu()
        x = self.drop(self.embed(idx))
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)  # [2, B, hidden]: last forward state, last backward state
        return self.head(self.drop(torch.cat([h[0], h[1]], dim=-1)))

    def onnx_graphs(self):
        """The graph for ``seqkit export-onnx``: ``logits = graph(idx)``, rows of one length."""
        from seqkit import GraphSpec

        spec = GraphSpec(_Unpadded(self), (torch.ones(2, 4, dtype=torch.long),), ["idx"], ["logits"],
                         {"idx": {0: "B", 1: "T"}, "logits": {0: "B"}},
                         {"kind": "classifier", "n_classes": self.config.n_classes})
        return {"classify": spec}


class _Unpadded(nn.Module):
    """The classifier on rows of one length (no padding, so no packing): the ONNX graph."""

    def __init__(self, model: NameClassifier):
        super().__init__()
        self.m = model

    def forward(self, idx):
        m = self.m
        h0 = torch.zeros(2, idx.size(0), m.config.hidden, device=idx.device)
        _, h = m.rnn(m.embed(idx), h0)
        return m.head(torch.cat([h[0], h[1]], dim=-1))


def classifier_loss(model, batch):
    """Cross-entropy weighted per name (``batch["weight"]``): ``(loss, n, n_correct)``."""
    logits = model(batch["input"])
    target = batch["target"]
    losses = F.cross_entropy(logits, target, reduction="none")
    weight = batch.get("weight")
    loss = losses.mean() if weight is None else (losses * weight).sum() / weight.sum()
    n_correct = int((logits.argmax(-1) == target).sum())
    return loss, int(target.numel()), n_correct
