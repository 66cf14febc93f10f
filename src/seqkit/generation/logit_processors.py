"""Logit processors: steer sampling by biasing or masking the next-token logits.

A processor is any callable ``processor(tokens, logits) -> logits``:

* ``tokens``: ``int64 [B, T]`` numpy array, per row the prompt and every token chosen so far
  (forced prefix tokens included), oldest first;
* ``logits``: ``float32 [B, V]`` numpy array, the next-token logits after ``suppress_ids`` and the
  processors before it (``-inf`` = masked); it may be changed in place;
* it returns the new ``[B, V]`` logits: add a bias to prefer or avoid tokens, set ``-inf`` to
  forbid them.

``generate`` (torch) and ``generate_numpy`` (ONNX Runtime) both take ``processors=[...]`` and run
them through ``apply_processors`` on numpy arrays, so one processor serves both paths and behaves
the same in each. They run in list order, before temperature, top-k and top-p (a bias is divided
by the temperature like the logits; a mask stays a mask). A forced ``prefix`` token wins over
them. Rows that have finished (stop token) keep their logits. A processor that leaves a running
row no token at all is an error (``SeqkitError``), never a silent fallback.

Processors know what token ids mean through the tokenizer they are built with; keeping state
between steps is allowed (the call order is step by step), but recomputing from ``tokens`` keeps
them simple and safe to reuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import numpy as np

from seqkit.errors import SeqkitError


class LogitProcessor(Protocol):
    """What ``generate(..., processors=[...])`` calls at every step (see the module doc)."""

    def __call__(self, tokens: np.ndarray, logits: np.ndarray) -> np.ndarray: ...


class TokenBias:
    """A fixed bias per token id, the same at every step: ``TokenBias({7: -2.0})`` makes id 7
    less likely, ``TokenBias.ban([3, 4])`` forbids ids 3 and 4 (``-inf``)."""

    def __init__(self, bias: dict[int, float]):
        self.ids = np.array(sorted(bias), dtype=np.int64)
        self.values = np.array([float(bias[i]) for i in sorted(bias)], dtype=np.float32)

    @classmethod
    def ban(cls, ids: Iterable[int]) -> TokenBias:
        return cls({int(i): -np.inf for i in ids})

    def __call__(self, tokens: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self.ids.size:
            if int(self.ids.max()) >= logits.shape[-1] or int(self.ids.min()) < 0:
                raise SeqkitError(f"TokenBias: token id out of range for a vocabulary of {logits.shape[-1]}")
            logits[:, self.ids] += self.values
        return logits


def apply_processors(processors: Sequence[Callable] | None, tokens: np.ndarray, logits: np.ndarray,
                     active: np.ndarray | None = None) -> np.ndarray:
    """``logits`` ``[B, V]`` after every processor in order; rows where ``active`` is False keep
    their logits. Raises ``SeqkitError`` when an active row has no token left."""
    if not processors:
        return logits
    original = np.array(logits, dtype=np.float32)
    out = original.copy()
    tokens = np.asarray(tokens, dtype=np.int64)
    for proc in processors:
        out = np.asarray(proc(tokens, out), dtype=np.float32)
        if out.shape != original.shape:
            raise SeqkitError(f"logit processor {proc!r} returned shape {out.shape}, "
                              f"expected {original.shape}")
    if active is not None:
        out = np.where(np.asarray(active, dtype=bool)[:, None], out, original)
    dead = ~np.isfinite(out).any(-1)
    if active is not None:
        dead &= np.asarray(active, dtype=bool)
    if dead.any():
        raise SeqkitError(f"the logit processors left no token to sample (row {int(np.argmax(dead))})")
    return out


class History:
    """The tokens of every row so far (prompt, then one column per step) in one preallocated
    array, for the processors; ``view()`` is ``[B, T]`` up to the last token."""

    def __init__(self, prompt: np.ndarray, steps: int):
        prompt = np.asarray(prompt, dtype=np.int64)
        self.buf = np.zeros((prompt.shape[0], prompt.shape[1] + steps), dtype=np.int64)
        self.buf[:, :prompt.shape[1]] = prompt
        self.n = prompt.shape[1]

    def push(self, nxt: np.ndarray) -> None:
        self.buf[:, self.n] = nxt
        self.n += 1

    def view(self) -> np.ndarray:
        return self.buf[:, :self.n]
