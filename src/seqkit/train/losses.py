"""The loss functions the Trainer calls: ``loss_fn(model, batch) -> (loss, n_tokens, n_correct)``."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def unwrap(model):
    """The model itself, under any DistributedDataParallel, ``torch.compile`` or stream wrapper."""
    while True:
        inner = getattr(model, "module", None)
        if inner is None:
            inner = getattr(model, "_orig_mod", None)
        if inner is None or inner is model:
            return model
        model = inner


def _token_stats(logits, target, loss):
    mask = target != -100
    n_tokens = mask.sum()
    correct = ((logits.argmax(-1) == target) & mask).sum()
    return loss, n_tokens, correct


def lm_loss(model, batch):
    """Next-token cross-entropy for ``{"input", "target" (-100 = ignore), "cond"?}``.

    Adds ``model.aux_loss`` when the model sets it during its forward pass (e.g. the compressive
    Transformer's reconstruction loss) in training mode.
    """
    logits, _ = model(batch["input"], cond=batch.get("cond"))
    target = batch["target"]
    loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=-100)
    aux = getattr(unwrap(model), "aux_loss", None)
    if aux is not None and torch.is_tensor(aux) and aux.requires_grad:
        loss = loss + aux
    return _token_stats(logits, target, loss)


def seq2seq_loss(model, batch):
    """Cross-entropy of ``model(src, tgt_in)`` against ``tgt_out`` (-100 = ignore)."""
    logits = model(batch["src"], batch["tgt_in"])
    target = batch["tgt_out"]
    loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=-100)
    return _token_stats(logits, target, loss)
