"""The weight initialisation of seqkit's Transformers (GPT-2's): one function for every model."""

from __future__ import annotations

import math

import torch.nn as nn


def _init(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Embedding):
        nn.init.normal_(m.weight, mean=0.0, std=0.02)


def init_weights(model: nn.Module, n_layer: int, residual=("proj.weight",)) -> None:
    """Linear and embedding weights ~ N(0, 0.02), biases 0; the weights whose names end with one of
    ``residual`` (the projections into the residual stream) ~ N(0, 0.02 / sqrt(2 n_layer)).
    Other parameters (LayerNorm, a model's own) are left as they are."""
    model.apply(_init)
    for name, p in model.named_parameters():
        if name.endswith(tuple(residual)):
            nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))
