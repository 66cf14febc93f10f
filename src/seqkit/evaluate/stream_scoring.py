"""Scoring held-out pieces as streams: each piece read from its start, window after window, the
memory carried (how a model that carries memory reads a piece when it generates)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from seqkit.train.streaming import memory_segment


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
