"""Which items each training step reads, and at which learning rate.

Each epoch the training set's indices are shuffled (seeded by the run's seed and the epoch; each
rank its share, padded so that every rank gets as many batches), unless the set orders its own:
``train_set.batches(epoch=, batch_size=, seed=, rank=, world=)`` returns this rank's batches for
the epoch and is used as is (``TokenStreams`` does, so that row ``b`` continues row ``b``).
"""

from __future__ import annotations

import math

import torch


def own_batches(train_set, config, epoch: int, rank: int = 0, world: int = 1):
    """The training set's own batches for ``epoch`` when it orders them, else None."""
    own = getattr(train_set, "batches", None)
    if not callable(own):
        return None
    return own(epoch=epoch, batch_size=config.batch_size, seed=config.seed, rank=rank, world=world)


def epoch_batches(train_set, config, epoch: int, rank: int = 0, world: int = 1) -> list[list[int]]:
    """This rank's batches of indices for ``epoch``."""
    own = own_batches(train_set, config, epoch, rank, world)
    if own is not None:
        return own
    g = torch.Generator().manual_seed((config.seed * 1_000_003 + epoch) % 2**63)
    order = torch.randperm(len(train_set), generator=g).tolist()
    if world > 1:  # pad so every rank gets the same number of batches
        per = math.ceil(len(order) / world)
        order = (order * 2)[: per * world][rank::world]
    b = config.batch_size
    batches = [order[i : i + b] for i in range(0, len(order), b)]
    if config.drop_last and len(batches) > 1 and len(batches[-1]) < b:
        batches.pop()
    return batches


def count_batches(train_set, config, world: int = 1) -> int:
    """Batches (optimizer steps) per epoch."""
    own = own_batches(train_set, config, 0, 0, world)
    if own is not None:
        return max(1, len(own))
    n = math.ceil(len(train_set) / world)
    b = config.batch_size
    return max(1, n // b if config.drop_last and n >= b else math.ceil(n / b))


def learning_rate(config, step: int, total_steps: int) -> float:
    """Linear warm-up over ``warmup_steps``, then constant, cosine or linear decay to
    ``min_lr_ratio`` of ``lr`` at ``total_steps``."""
    c = config
    if c.warmup_steps and step < c.warmup_steps:
        return c.lr * (step + 1) / c.warmup_steps
    if c.schedule == "constant":
        return c.lr
    total = max(1, total_steps - c.warmup_steps)
    progress = min(1.0, (step - c.warmup_steps) / total)
    if c.schedule == "cosine":
        factor = 0.5 * (1 + math.cos(math.pi * progress))
    else:
        factor = 1 - progress
    return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * factor)
