"""Scoring a music model on held-out pieces: NLL per token and next-token accuracy.

Two ways to read a split: deterministic windows, each scored alone (every model), or each piece
as one stream from its start, the memories carried from window to window (models that carry
memories: seqkit's memory protocol). ``music eval`` and the validation during ``music train``
score with the same code, so that a run's recorded validation loss is what ``music eval`` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from seqkit import count_windows, score_batches, stream_batches, stream_evaluator


def window_batches(ds, batch_size: int, collate) -> Iterator[tuple[dict, bool]]:
    """``(batch, fresh)`` pairs over a windowed dataset; every batch starts fresh."""
    for i in range(0, len(ds), batch_size):
        batch = collate([ds[j] for j in range(i, min(len(ds), i + batch_size))])
        batch["windows"] = batch["input"].shape[0]
        yield batch, True


def score(net, batches: Iterable[tuple[dict, bool]], max_windows: int = 0, unk_id: int | None = None,
          on_batch: Callable[[int], None] | None = None, memory: bool = False) -> dict:
    """Sum of NLL, correct predictions and tokens over ``batches`` (from ``window_batches``, or
    from ``stream_batches`` with ``memory``: core's ``score_batches``, which see)."""
    return score_batches(net, batches, max_windows, unk_id, on_batch, memory=memory)


__all__ = ["count_windows", "score", "stream_batches", "stream_evaluator", "window_batches"]
