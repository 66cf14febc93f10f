"""`music train` on streams, for models that carry memories from one training window to the next
(seqkit's memory protocol): every stream set-up of the command is in ``stream_training``, and
``TrainingData`` is what ``music train`` reads, windows (``training.windows``) or streams."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seqkit import SeqkitError, carries_memory


@dataclass
class TrainingData:
    """What `music train` reads: windows (``seq_len`` tokens each) or, for models that carry
    memories, streams (``stream_training``); ``train`` holds the training settings they decide."""

    seq_len: int
    val_seq_len: int
    train_set: Any
    val_set: Any = None
    evaluator: Any = None
    extra: dict = field(default_factory=dict)  # into the checkpoint's extra
    describe: str = ""
    train: dict = field(default_factory=dict)  # training settings the data decides (memory_reset)


def stream_training(run, model_class, config, corpus, seq_len, augment):
    """A :class:`TrainingData` on streams, or ``None`` to train
    on windows (the model carries no memories, or ``--windows``).

    Each batch row reads its piece(s) on where the previous step stopped (``corpus.streams``:
    core's ``TokenStreams``, ``--stream-groups`` groups taking turns); the core Trainer carries the
    model's memories across steps (seqkit's memory protocol), resetting them with the chance
    ``--memory-reset`` (``TrainConfig.memory_reset``); validation reads each piece from its start
    in windows of ``--val-seq-len`` (default 4 x ``--seq-len``), as ``music eval`` scores it."""
    o = run.options
    can_stream = carries_memory(model_class)
    if o["streams"] and not can_stream:
        raise SeqkitError(f"--streams needs a model that carries memories; "
                          f"{run.arch} does not")
    if not (can_stream if o["streams"] is None else o["streams"]):
        return None
    seg_len = getattr(config, "seg_len", None)
    seq_len = seq_len or getattr(config, "max_len", None) or seg_len or 512
    if seg_len and seq_len % seg_len:
        raise SeqkitError(f"--seq-len {seq_len} must be a multiple of the model's seg_len {seg_len} "
                          f"to train on streams (or pass --windows)")
    val_seq_len = o["val_seq_len"] or 4 * seq_len
    groups, batch = o["stream_groups"], run.train.get("batch_size", 16)
    train_set = corpus.streams("train", seq_len, augment=augment, seed=run.seed, groups=groups)
    evaluator = None
    if corpus.split("validation"):  # scored as `music eval` scores it: piece by piece
        from .scoring import stream_evaluator

        evaluator = stream_evaluator(corpus.arrays("validation"), val_seq_len, batch, corpus.tokenizer.pad_id,
                                     max_windows=run.train.get("max_eval_batches", 0) * batch)

    reset = o["memory_reset"] or run.train.get("memory_reset", 0.0)  # --memory-reset or --set memory_reset=
    turns = f" (taking turns among {groups} groups)" if groups > 1 else ""
    return TrainingData(seq_len, val_seq_len, train_set, None, evaluator, train={"memory_reset": reset},
                        extra={"streams": True, "memory_reset": reset, "stream_groups": groups},
                        describe=f"{batch} streams read {seq_len} tokens a step{turns}, memories carried")
