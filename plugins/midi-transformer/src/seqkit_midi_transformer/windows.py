"""The training data a corpus split becomes: windows (``TokenWindows``, random or consecutive).
For models that carry memories a split becomes core's ``seqkit.train.TokenStreams`` (``corpus.streams``)."""

from __future__ import annotations

import numpy as np

from .augment import augment_performance
from .tokenizer import PAD


class TokenWindows:
    """Windows of ``seq_len + 1`` tokens over pieces: ``{"input": [T], "target": [T]}`` (targets
    of padding are -100).

    ``random=False``: consecutive windows covering every token of every piece once
    (deterministic, for eval). ``random=True``: one window per ``seq_len`` tokens of data, at a
    random offset, with optional augmentation: ``augment`` is a function ``f(ids, rng) -> ids``,
    or ``True`` for the performance encoding's (transposition ±3 semitones, time stretch ±2.5/5%).
    Inputs are padded with ``pad_id``. ``conds``: an id per piece (its composer or folder label),
    given with each window as ``"cond"``.
    """

    def __init__(self, pieces: list[np.ndarray], seq_len: int, augment=None,
                 random: bool = True, seed: int = 0, pad_id: int = PAD, conds: list[int] | None = None):
        self.pieces = pieces
        self.conds = conds
        self._piece = 0  # the piece of the last window
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

    def state_dict(self) -> dict:
        """How many random windows were drawn (each draw's generator is seeded by it): the
        Trainer keeps it in last.json, so that a resumed run draws what an uninterrupted one draws."""
        return {"calls": self._calls}

    def load_state_dict(self, state: dict) -> None:
        calls = state.get("calls")
        if isinstance(calls, bool) or not isinstance(calls, int) or calls < 0:
            raise ValueError(f"the windows drawn are {calls!r}, not a count")
        self._calls = calls

    def _window(self, i: int) -> np.ndarray:
        L = self.seq_len + 1
        if not self.random:
            j, start = self.index[i]
            self._piece = j
            return self.pieces[j][start:start + L].astype(np.int64)
        self._calls += 1
        rng = np.random.default_rng((self.seed, i, self._calls))
        j = int(np.searchsorted(self.cum, rng.random() * self.cum[-1], side="right"))
        j = min(j, len(self.pieces) - 1)
        self._piece = j
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
        item = {"input": torch.from_numpy(x), "target": torch.from_numpy(y)}
        if self.conds is not None:
            item["cond"] = torch.tensor(self.conds[self._piece], dtype=torch.long)
        return item


def collate(items: list[dict]) -> dict:
    import torch

    return {k: torch.stack([it[k] for it in items]) for k in items[0]}
