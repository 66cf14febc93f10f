"""``TokenStreams``: training rows that read on from batch to batch, for models that carry memory
(see ``seqkit.train.streaming``)."""

from __future__ import annotations

import numpy as np

from seqkit.errors import SeqkitError


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


