"""The training data a corpus split becomes: windows (``TokenWindows``, random or consecutive)
and, for models that carry memories, streams that read on from batch to batch (``TokenStreams``)."""

from __future__ import annotations

import numpy as np

from seqkit import SeqkitError

from .augment import augment_performance
from .tokenizer import PAD


class TokenWindows:
    """Windows of ``seq_len + 1`` tokens over pieces: ``{"input": [T], "target": [T]}`` (targets
    of padding are -100).

    ``random=False``: consecutive windows covering every token of every piece once
    (deterministic, for eval). ``random=True``: one window per ``seq_len`` tokens of data, at a
    random offset, with optional augmentation: ``augment`` is a function ``f(ids, rng) -> ids``,
    or ``True`` for the performance encoding's (transposition ±3 semitones, time stretch ±2.5/5%).
    Inputs are padded with ``pad_id``.
    """

    def __init__(self, pieces: list[np.ndarray], seq_len: int, augment=None,
                 random: bool = True, seed: int = 0, pad_id: int = PAD):
        self.pieces = pieces
        self.seq_len = int(seq_len)
        self.augment = augment_performance if augment is True else (augment or None)
        self.pad_id = int(pad_id)
        self.random = random
        self.seed = seed
        self._calls = 0
        self.index = []  # (piece, start)
        for j, p in enumerate(pieces):
            n = max(1, -(-(len(p) - 1) // self.seq_len))
            self.index += [(j, k * self.seq_len) for k in range(n)]
        if random:
            lengths = np.array([max(1, len(p) - 1) for p in pieces], dtype=np.float64)
            self.cum = np.cumsum(lengths)

    def __len__(self) -> int:
        return len(self.index)

    def _window(self, i: int) -> np.ndarray:
        L = self.seq_len + 1
        if not self.random:
            j, start = self.index[i]
            return self.pieces[j][start:start + L].astype(np.int64)
        self._calls += 1
        rng = np.random.default_rng((self.seed, i, self._calls))
        j = int(np.searchsorted(self.cum, rng.random() * self.cum[-1], side="right"))
        j = min(j, len(self.pieces) - 1)
        piece = self.pieces[j]
        extra = L // 4 if self.augment else 0
        start = int(rng.integers(0, max(1, len(piece) - L + 1)))
        w = piece[start:start + L + extra].astype(np.int64)
        if self.augment:
            w = self.augment(w, rng)
        return w[:L]

    def __getitem__(self, i: int) -> dict:
        import torch

        w = self._window(i)
        x = np.full(self.seq_len, self.pad_id, dtype=np.int64)
        y = np.full(self.seq_len, -100, dtype=np.int64)
        n = len(w) - 1
        x[:n] = w[:-1]
        y[:n] = w[1:]
        return {"input": torch.from_numpy(x), "target": torch.from_numpy(y)}


class TokenStreams:
    """Training rows that read on, for models that carry memories between batches (the
    compressive Transformer's ``carry_memories``): row ``b`` of each batch is the next ``seq_len``
    tokens of stream ``b``, so it continues row ``b`` of the previous batch.

    Each epoch deals the pieces, in a seeded order, round-robin to ``batch_size x world`` streams
    (each piece augmented as a whole); a stream that runs short reads on into random pieces, a long
    one is cut, so that every stream holds ``steps x seq_len + 1`` tokens with
    ``steps = tokens // (streams x seq_len)``. Pieces follow one another ``... <eos> <bos> ...``.
    The Trainer takes the order from ``batches()``; an index names (epoch, chunk, stream).

    ``groups = G`` makes ``G`` times as many streams, and steps take turns among G groups of
    ``batch_size x world`` of them (step ``t`` reads group ``t mod G``), so that consecutive steps
    read different pieces; the model keeps G sets of memories in the same turn
    (``stream_groups``).
    """

    def __init__(self, pieces: list[np.ndarray], seq_len: int, augment=None, seed: int = 0,
                 groups: int = 1):
        if not pieces:
            raise SeqkitError("no pieces to stream")
        self.pieces = pieces
        self.seq_len = int(seq_len)
        self.augment = augment
        self.seed = int(seed)
        self.tokens = int(sum(len(p) for p in pieces))
        self.groups = max(1, int(groups))
        self.n_streams = self.groups
        self._cache: dict = {}

    def __len__(self) -> int:  # windows' worth of data (the Trainer's "is it empty" check)
        return max(1, self.tokens // self.seq_len)

    def steps(self, n_streams: int) -> int:
        """Chunks of ``seq_len`` each of ``n_streams`` streams holds in one epoch."""
        return max(1, self.tokens // (n_streams * self.seq_len))

    def batches(self, epoch: int, batch_size: int, seed: int = 0, rank: int = 0, world: int = 1):
        """One epoch's batches for ``rank``: step ``t`` reads chunk ``t // groups`` of group
        ``t % groups``'s streams (this rank's ``batch_size`` of them)."""
        per_group = batch_size * world
        self.n_streams = n = per_group * self.groups
        chunks = self.steps(n)
        out = []
        for t in range(chunks * self.groups):
            c, g = divmod(t, self.groups)
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


def collate(items: list[dict]) -> dict:
    import torch

    return {k: torch.stack([it[k] for it in items]) for k in items[0]}
