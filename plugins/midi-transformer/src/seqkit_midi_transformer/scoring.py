"""Scoring a music model on held-out pieces: NLL per token and next-token accuracy.

Two ways to read a split: deterministic windows, each scored alone (every model), or each piece
as one stream from its start, the memories carried from window to window (models that carry
memories, such as ``compressive``). ``music eval`` and the validation during ``music train``
score with the same code, so that a run's recorded validation loss is what ``music eval`` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F


def window_batches(ds, batch_size: int, collate) -> Iterator[tuple[dict, bool]]:
    """``(batch, fresh)`` pairs over a windowed dataset; every batch starts fresh."""
    for i in range(0, len(ds), batch_size):
        batch = collate([ds[j] for j in range(i, min(len(ds), i + batch_size))])
        batch["windows"] = batch["input"].shape[0]
        yield batch, True


def stream_batches(pieces, seq_len: int, batch_size: int, pad_id: int) -> Iterator[tuple[dict, bool]]:
    """Pieces scored as streams: ``batch_size`` pieces of similar length side by side, read
    ``seq_len`` tokens at a time from their starts. Yields ``(batch, fresh)``: ``fresh`` when a new
    group of pieces begins (the model starts from empty memories); ``batch["windows"]`` counts the
    pieces' windows in it. Rows past the end of their piece are padding (targets -100)."""
    order = sorted(range(len(pieces)), key=lambda j: -len(pieces[j]))
    for g in range(0, len(order), batch_size):
        group = [np.asarray(pieces[j], dtype=np.int64) for j in order[g:g + batch_size]]
        n_win = -(-(max(len(p) for p in group) - 1) // seq_len)
        x = np.full((len(group), n_win * seq_len), pad_id, dtype=np.int64)
        y = np.full_like(x, -100)
        for r, p in enumerate(group):
            x[r, :len(p) - 1], y[r, :len(p) - 1] = p[:-1], p[1:]
        for k in range(n_win):
            cut = slice(k * seq_len, (k + 1) * seq_len)
            live = sum(1 for p in group if len(p) - 1 > k * seq_len)
            yield {"input": torch.from_numpy(x[:, cut]), "target": torch.from_numpy(y[:, cut]),
                   "windows": live}, k == 0


def count_windows(pieces, seq_len: int) -> int:
    """How many windows ``stream_batches`` reads over these pieces."""
    return sum(-(-(len(p) - 1) // seq_len) for p in pieces if len(p) > 1)


@torch.no_grad()
def score(net, batches: Iterable[tuple[dict, bool]], max_windows: int = 0, unk_id: int | None = None,
          on_batch: Callable[[int], None] | None = None) -> dict:
    """Sum of NLL, correct predictions and tokens over ``batches`` (from ``window_batches`` or
    ``stream_batches``), stopping after ``max_windows`` windows (0 = all). A ``fresh`` batch
    starts from an empty cache; the others read on from the previous batch's. A fresh batch is
    cut to the windows left; one that reads on cannot be (its rows share the cache), so with
    streams a few more windows than ``max_windows`` may be scored: ``windows`` says how many."""
    dev = next(net.parameters()).device
    total, correct, count, unknown, done = 0.0, 0, 0, 0, 0
    cache = None
    for b, fresh in batches:
        if max_windows and done >= max_windows:
            break
        x, y, windows = b["input"], b["target"], b["windows"]
        if fresh and max_windows and done + windows > max_windows:
            windows = max_windows - done  # the live rows come first (longest pieces first)
            x, y = x[:windows], y[:windows]
        x, y = x.to(dev), y.to(dev)
        logits, cache = net(x, cache=None if fresh else cache)
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
    """``evaluator(model)`` for the core Trainer: validation on streams, scored as ``music eval``
    scores a model trained on streams (windows rounded up to whole segments, as there)."""

    def evaluator(model) -> dict:
        seg = getattr(model.config, "seg_len", None) or 1
        s = score(model, stream_batches(pieces, -(-seq_len // seg) * seg, batch_size, pad_id), max_windows)
        if not s["tokens"]:
            return {}
        return {"loss": s["nll_sum"] / s["tokens"], "acc": s["correct"] / s["tokens"], "tokens": s["tokens"]}

    return evaluator
