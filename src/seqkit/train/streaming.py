"""Models that carry memory from one training window to the next, and the streams they read.

The protocol (docs/plugins.md, "Models that carry memory"): a language model that also has

    memory = model.init_memory(batch_size, device)         # the memory before a stream's first token
    logits, memory = model(idx, cond=None, memory=memory)   # idx read on from memory; the memory after it

carries memory. The memory is the model's own nest of tensors (dicts, lists, tuples, ``None``),
detached (truncated backprop through time), one row per batch row; windows read with a memory are
whole multiples of ``model.memory_segment`` tokens (1 when the model does not say). Without
``memory=`` the model is an ordinary language model (``logits, cache = model(idx, cond, cache)``).

Training on streams (Transformer-XL, the Compressive Transformer): a training set that deals
**streams** (:class:`TokenStreams`: row ``b`` of each batch continues row ``b`` of that group's
previous batch; ``stream_groups`` groups of rows take turns; ``seqkit.train.token_streams``) and a model that carries memory make
the :class:`~seqkit.Trainer` keep one memory per group (:class:`StreamMemories`), which every step
reads on from. The memories are the Trainer's, not the model's: they start empty at each epoch, a
step starts from empty memories with the chance ``TrainConfig.memory_reset``, and they are part of
``last.json``'s training state, so a resumed run equals an uninterrupted one.

Validation on streams (:func:`stream_evaluator`, ``seqkit.evaluate.stream_scoring``) reads each held-out
piece from its start, window after window, memories carried: how the model reads a piece when it
generates.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from seqkit.errors import SeqkitError


@runtime_checkable
class MemoryModel(Protocol):
    """A language model that carries memory across training windows (see the module's doc)."""

    def init_memory(self, batch_size: int, device) -> Any:
        """The memory before the first token of ``batch_size`` streams."""

    def __call__(self, idx, cond=None, *, memory: Any = None) -> tuple[Any, Any]:
        """``(logits, new memory)`` for ``idx`` read on from ``memory``."""


def carries_memory(model) -> bool:
    """Whether ``model`` (or the model inside a DDP / ``torch.compile`` wrapper) carries memory."""
    from seqkit.train.losses import unwrap

    return callable(getattr(unwrap(model), "init_memory", None))


def memory_segment(model) -> int:
    """The token multiple a model that carries memory reads windows in (``memory_segment``, 1)."""
    from seqkit.train.losses import unwrap

    return int(getattr(unwrap(model), "memory_segment", 1) or 1)


def map_tensors(fn: Callable, memory):
    """``memory`` with ``fn`` applied to each of its tensors (dicts, lists and tuples kept)."""
    import torch

    if torch.is_tensor(memory):
        return fn(memory)
    if isinstance(memory, dict):
        return {k: map_tensors(fn, v) for k, v in memory.items()}
    if isinstance(memory, (list, tuple)):
        return type(memory)(map_tensors(fn, v) for v in memory)
    return memory


def memory_rows(memory) -> int | None:
    """The batch rows a memory holds (its first tensor's first size), or None when it holds none."""
    found: list[int] = []
    map_tensors(lambda t: found.append(t.size(0)) if t.dim() else None, memory)
    return found[0] if found else None


# ---------------------------------------------------------------- the Trainer's memories

class _Reading:
    """The model as a loss function sees it on streams: a call reads on from the group's memory
    (``model(idx, cond=...)`` as for any language model); the memory after it is kept in ``new``
    until the Trainer commits the step."""

    def __init__(self, model, memory):
        self.module, self.memory, self.new = model, memory, None

    def __call__(self, idx, cond=None, **kwargs):
        logits, self.new = self.module(idx, cond=cond, memory=self.memory, **kwargs)
        return logits, self.new

    def __getattr__(self, name):  # anything else a loss function asks of the model
        return getattr(self.module, name)


class StreamMemories:
    """The memories a Trainer carries for a model that carries memory, one per group of streams.

    Step ``i`` of an epoch reads group ``i mod groups``; an epoch starts from empty memories (a new
    epoch deals new streams); with the chance ``reset`` a step starts from empty memories anyway,
    drawn from its own seeded generator (never from the global random stream dropout uses), so
    that a resumed run draws what an uninterrupted one draws."""

    def __init__(self, groups: int, reset: float = 0.0, seed: int = 0):
        self.groups = max(1, int(groups))
        self.reset, self.seed = float(reset), int(seed)
        self.memories: dict[int, Any] = {}

    def reading(self, model, batch_in_epoch: int, step: int, batch_size: int, device) -> _Reading:
        """The model for the step ``step`` (batch ``batch_in_epoch`` of its epoch)."""
        if batch_in_epoch == 0:
            self.memories.clear()
        group = batch_in_epoch % self.groups
        memory = self.memories.get(group)
        if self.reset and random.Random(self.seed * 1_000_003 + step).random() < self.reset:
            memory = None  # so that the model also learns to read from empty memories
        if memory is not None and memory_rows(memory) not in (None, batch_size):
            memory = None  # another batch size: other streams
        if memory is None:
            from seqkit.train.losses import unwrap

            memory = unwrap(model).init_memory(batch_size, device)
        return _Reading(model, memory)

    def commit(self, reading: _Reading, batch_in_epoch: int) -> None:
        """Keep the memory the step's forward pass left (after its optimizer step)."""
        if reading.new is not None:
            self.memories[batch_in_epoch % self.groups] = map_tensors(lambda t: t.detach(), reading.new)

    def state(self) -> dict:
        """What ``last.json`` keeps: each group's memory (on the CPU)."""
        return {"groups": self.groups,
                "memories": {g: map_tensors(lambda t: t.detach().cpu(), m) for g, m in self.memories.items()}}

    def load(self, state: dict, device) -> None:
        memories = state.get("memories") or {}
        if not isinstance(memories, dict):
            raise TypeError("the stream memories are not a mapping")
        self.memories = {int(g): map_tensors(lambda t: t.to(device), m) for g, m in memories.items()}


def stream_memories(model, train_set, config) -> StreamMemories | None:
    """The Trainer's memories when ``model`` carries memory and ``train_set`` deals streams (it has
    ``stream_groups``), else None; refuses settings that cannot work, before training."""
    groups = getattr(train_set, "stream_groups", None)
    streaming = bool(groups) and carries_memory(model)
    if config.memory_reset and not streaming:
        raise SeqkitError("memory_reset needs a model that carries memory, trained on streams")
    if not streaming:
        return None
    seq_len, seg = getattr(train_set, "seq_len", None), memory_segment(model)
    if seq_len and seq_len % seg:
        raise SeqkitError(f"training on streams needs windows of whole segments: {seq_len} tokens "
                          f"is not a multiple of the model's segment {seg}")
    return StreamMemories(groups, config.memory_reset, config.seed)
