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
previous batch; ``stream_groups`` groups of rows take turns) and a model that carries memory make
the :class:`~seqkit.Trainer` keep one memory per group (:class:`StreamMemories`), which every step
reads on from. The memories are the Trainer's, not the model's: they start empty at each epoch, a
step starts from empty memories with the chance ``TrainConfig.memory_reset``, and they are part of
``last.json``'s training state, so a resumed run equals an uninterrupted one.

Validation on streams (:func:`stream_evaluator`) reads each held-out piece from its start, window
after window, memories carried: how the model reads a piece when it generates.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import SeqkitError


@runtime_checkable
class MemoryModel(Protocol):
    """A language model that carries memory across training windows (see the module's doc)."""

    def init_memory(self, batch_size: int, device) -> Any:
        """The memory before the first token of ``batch_size`` streams."""

    def __call__(self, idx, cond=None, *, memory: Any = None) -> tuple[Any, Any]:
        """``(logits, new memory)`` for ``idx`` read on from ``memory``."""


def carries_memory(model) -> bool:
    """Whether ``model`` (or the model inside a DDP / ``torch.compile`` wrapper) carries memory."""
    from .losses import unwrap

    return callable(getattr(unwrap(model), "init_memory", None))


def memory_segment(model) -> int:
    """The token multiple a model that carries memory reads windows in (``memory_segment``, 1)."""
    from .losses import unwrap

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
            from .losses import unwrap

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


# ---------------------------------------------------------------- streams of tokens

class TokenStreams:
    """Training rows that read on, for models that carry memory: row ``b`` of each batch is the
    next ``seq_len`` tokens of stream ``b``, so it continues row ``b`` of its group's previous
    batch. Items are ``{"input", "target"}`` (``lm_loss``'s format).

    Each epoch deals the pieces (sequences of token ids), in a seeded order, round-robin to the
    streams (each piece augmented as a whole by ``augment(piece, numpy_rng)``, if given); a stream
    that runs short reads on into random pieces, a long one is cut, so that every stream holds
    ``steps x seq_len + 1`` tokens with ``steps = tokens // (streams x seq_len)``. Pieces follow one
    another (end them with an end-of-sequence id to mark where one stops).

    ``groups = G`` (``stream_groups``) makes G times as many streams; steps take turns among G groups
    of ``batch_size x world`` of them (step ``t`` reads group ``t mod G``), so that consecutive steps
    read different pieces; the Trainer keeps one memory per group. The Trainer takes the order from
    ``batches()``; an index names (epoch, chunk, stream).
    """

    def __init__(self, pieces, seq_len: int, augment=None, seed: int = 0, groups: int = 1):
        pieces = [np.asarray(p) for p in pieces]
        if not pieces or not any(len(p) for p in pieces):
            raise SeqkitError("no pieces to stream")
        if int(seq_len) < 1:
            raise SeqkitError(f"the stream window must be at least 1 token, not {seq_len}")
        self.pieces = pieces
        self.seq_len = int(seq_len)
        self.augment = augment
        self.seed = int(seed)
        self.tokens = int(sum(len(p) for p in pieces))
        self.stream_groups = max(1, int(groups))
        self.n_streams = self.stream_groups
        self._cache: dict = {}

    @property
    def groups(self) -> int:
        return self.stream_groups

    def __len__(self) -> int:  # windows' worth of data (the Trainer's "is it empty" check)
        return max(1, self.tokens // self.seq_len)

    def steps(self, n_streams: int) -> int:
        """Chunks of ``seq_len`` each of ``n_streams`` streams holds in one epoch."""
        return max(1, self.tokens // (n_streams * self.seq_len))

    def batches(self, epoch: int, batch_size: int, seed: int = 0, rank: int = 0, world: int = 1):
        """One epoch's batches for ``rank``: step ``t`` reads chunk ``t // groups`` of group
        ``t % groups``'s streams (this rank's ``batch_size`` of them)."""
        per_group = batch_size * world
        self.n_streams = n = per_group * self.stream_groups
        chunks = self.steps(n)
        out = []
        for t in range(chunks * self.stream_groups):
            c, g = divmod(t, self.stream_groups)
            first = (epoch * chunks + c) * n + g * per_group + rank * batch_size
            out.append([first + b for b in range(batch_size)])
        return out

    def stream(self, epoch: int, k: int) -> np.ndarray:
        """Stream ``k`` of ``epoch`` (``chunks x seq_len + 1`` tokens), built once per epoch."""
        key = (epoch, k, self.n_streams)
        if key not in self._cache:
            if any(e != epoch for e, _, _ in self._cache):
                self._cache.clear()
            n = self.n_streams
            need = self.steps(n) * self.seq_len + 1
            order = np.random.default_rng((self.seed, epoch)).permutation(len(self.pieces))
            extra = np.random.default_rng((self.seed, epoch, k, 1))
            parts, have = [], 0
            mine = iter(order[k::n].tolist())
            while have < need:
                j = next(mine, None)
                if j is None:
                    j = int(extra.integers(len(self.pieces)))
                piece = self.pieces[j]
                if self.augment is not None:
                    piece = self.augment(piece, np.random.default_rng((self.seed, epoch, j)))
                parts.append(np.asarray(piece))
                have += len(piece)
            self._cache[key] = np.concatenate(parts)[:need].astype(self.pieces[0].dtype)
        return self._cache[key]

    def __getitem__(self, i: int) -> dict:
        import torch

        n = self.n_streams
        epoch, rest = divmod(int(i), self.steps(n) * n)
        chunk, k = divmod(rest, n)
        w = self.stream(epoch, k)[chunk * self.seq_len: (chunk + 1) * self.seq_len + 1].astype(np.int64)
        return {"input": torch.from_numpy(w[:-1]), "target": torch.from_numpy(w[1:])}


# ---------------------------------------------------------------- scoring pieces as streams

def stream_batches(pieces, seq_len: int, batch_size: int, pad_id: int) -> Iterator[tuple[dict, bool]]:
    """Pieces scored as streams: ``batch_size`` pieces of similar length side by side, read
    ``seq_len`` tokens at a time from their starts. Yields ``(batch, fresh)``: ``fresh`` when a new
    group of pieces begins (empty memories); ``batch["windows"]`` counts the pieces' windows in it.
    Rows past the end of their piece are padding (targets -100)."""
    import torch

    order = sorted(range(len(pieces)), key=lambda j: -len(pieces[j]))
    for g in range(0, len(order), batch_size):
        group = [np.asarray(pieces[j], dtype=np.int64) for j in order[g:g + batch_size]]
        longest = max(len(p) for p in group)
        if longest < 2:
            continue
        n_win = -(-(longest - 1) // seq_len)
        x = np.full((len(group), n_win * seq_len), pad_id, dtype=np.int64)
        y = np.full_like(x, -100)
        for r, p in enumerate(group):
            if len(p) > 1:
                x[r, :len(p) - 1], y[r, :len(p) - 1] = p[:-1], p[1:]
        for k in range(n_win):
            cut = slice(k * seq_len, (k + 1) * seq_len)
            live = sum(1 for p in group if len(p) - 1 > k * seq_len)
            yield {"input": torch.from_numpy(x[:, cut]), "target": torch.from_numpy(y[:, cut]),
                   "windows": live}, k == 0


def count_windows(pieces, seq_len: int) -> int:
    """How many windows ``stream_batches`` reads over these pieces."""
    return sum(-(-(len(p) - 1) // seq_len) for p in pieces if len(p) > 1)


def score_batches(model, batches: Iterable[tuple[dict, bool]], max_windows: int = 0, unk_id: int | None = None,
                  on_batch: Callable[[int], None] | None = None, memory: bool = False) -> dict:
    """Sums of NLL, correct predictions and tokens over ``(batch, fresh)`` pairs, stopping after
    ``max_windows`` windows (0 = all). With ``memory`` (a model that carries memory, batches from
    :func:`stream_batches`), a fresh batch starts from ``init_memory`` and the others read on from
    the memory the batch before left; without, each batch is read alone. A fresh batch is cut to the
    windows left; one that reads on cannot be (its rows share the memory), so with streams a few
    more windows than ``max_windows`` may be scored: ``windows`` says how many."""
    import torch
    import torch.nn.functional as F

    dev = next(model.parameters()).device
    total, correct, count, unknown, done = 0.0, 0, 0, 0, 0
    state = None
    with torch.no_grad():
        for b, fresh in batches:
            if max_windows and done >= max_windows:
                break
            x, y, windows = b["input"], b["target"], b.get("windows", b["input"].size(0))
            if fresh and max_windows and done + windows > max_windows:
                windows = max_windows - done  # the live rows come first (longest pieces first)
                x, y = x[:windows], y[:windows]
            x, y = x.to(dev), y.to(dev)
            if memory:
                if fresh or state is None:
                    state = model.init_memory(x.size(0), dev)
                logits, state = model(x, memory=state)
            else:
                logits, _ = model(x)
            logits = logits.float()
            total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                                     ignore_index=-100, reduction="sum").item()
            mask = y != -100
            correct += ((logits.argmax(-1) == y) & mask).sum().item()
            count += mask.sum().item()
            if unk_id is not None:
                unknown += (y == unk_id).sum().item()
            done += windows
            if on_batch is not None:
                on_batch(windows)
    return {"nll_sum": total, "correct": correct, "tokens": count, "unknown": unknown, "windows": done}


def stream_evaluator(pieces, seq_len: int, batch_size: int, pad_id: int, max_windows: int = 0):
    """``evaluator(model)`` for the Trainer: each held-out piece read from its start as one stream,
    memories carried from window to window (windows rounded up to whole ``memory_segment``s)."""

    def evaluator(model) -> dict:
        seg = memory_segment(model)
        s = score_batches(model, stream_batches(pieces, -(-seq_len // seg) * seg, batch_size, pad_id),
                          max_windows, memory=True)
        if not s["tokens"]:
            return {}
        return {"loss": s["nll_sum"] / s["tokens"], "acc": s["correct"] / s["tokens"], "tokens": s["tokens"]}

    return evaluator
