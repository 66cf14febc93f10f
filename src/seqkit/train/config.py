"""``TrainConfig``: the Trainer's settings, a plain dataclass checked on creation, and the
optimizers it can name."""

from __future__ import annotations

import math
from dataclasses import dataclass

from seqkit.errors import SeqkitError


@dataclass
class TrainConfig:
    epochs: int | None = None
    steps: int | None = None
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adamw"  # adamw | adam | rmsprop | adagrad | sgd
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # 0 = off
    warmup_steps: int = 0
    schedule: str = "constant"  # constant | cosine | linear
    min_lr_ratio: float = 0.1
    eval_every: int = 0  # steps; 0 = at the end of every epoch
    save_every: int = 0  # steps; 0 = at every evaluation
    patience: int = 0  # evaluations without improvement before stopping; 0 = off
    device: str = "auto"
    bf16: bool = True  # autocast to bfloat16 on CUDA
    compile: bool = False
    seed: int = 0
    num_workers: int = 0
    progress: bool = True
    max_eval_batches: int = 0  # 0 = the whole validation set
    drop_last: bool = False
    memory_reset: float = 0.0  # streams: the chance that a step starts from empty memories
    tensorboard: bool = False  # also write TensorBoard event files to RUN/tensorboard/

    def __post_init__(self):
        if not self.epochs and not self.steps:
            raise SeqkitError("give a number of epochs or steps to train for")
        if self.optimizer not in OPTIMIZERS:
            raise SeqkitError(f"unknown optimizer {self.optimizer!r}; use {', '.join(OPTIMIZERS)}")
        if self.schedule not in ("constant", "cosine", "linear"):
            raise SeqkitError(f"unknown schedule {self.schedule!r}; use constant, cosine or linear")
        if self.batch_size < 1 or not (math.isfinite(self.lr) and self.lr > 0):  # nan too
            raise SeqkitError(f"batch size and learning rate must be positive (got {self.batch_size}, {self.lr})")
        for name in ("epochs", "steps", "warmup_steps", "eval_every", "save_every", "patience",
                     "max_eval_batches", "num_workers"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise SeqkitError(f"{name} must be 0 or more, not {value}")
        from seqkit.options import check_seed

        check_seed(self.seed)
        for name in ("weight_decay", "grad_clip", "min_lr_ratio"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise SeqkitError(f"{name} must be a finite number >= 0, not {value}")
        if not 0 <= self.memory_reset <= 1:  # nan too
            raise SeqkitError(f"memory_reset is a chance between 0 and 1, not {self.memory_reset}")


def _optimizers():
    import torch

    return {
        "adamw": lambda p, c: torch.optim.AdamW(p, lr=c.lr, weight_decay=c.weight_decay),
        "adam": lambda p, c: torch.optim.Adam(p, lr=c.lr, weight_decay=c.weight_decay),
        "rmsprop": lambda p, c: torch.optim.RMSprop(p, lr=c.lr, weight_decay=c.weight_decay),
        "adagrad": lambda p, c: torch.optim.Adagrad(p, lr=c.lr, weight_decay=c.weight_decay),
        "sgd": lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=0.9, weight_decay=c.weight_decay),
    }


OPTIMIZERS = ("adamw", "adam", "rmsprop", "adagrad", "sgd")


def make_optimizer(params, config: TrainConfig):
    """The optimizer ``config.optimizer`` names, over ``params``."""
    return _optimizers()[config.optimizer](params, config)
