"""The Music Transformer on ONNX Runtime without torch and without moving its cache:
``logits, state = model(idx, cond, state)`` on numpy arrays (core's cache protocol, so
``seqkit.generation.generate_numpy`` samples from it). ``seqkit.load_for_inference`` builds it (the step graph's
metadata names this class).

The step graph (``onnx_step.MusicBufferStep``) reads every layer's key/value buffers and returns
the new tokens' keys/values only; they are written here, in place. The buffers grow in steps of
``GROW`` slots (one copy per ``GROW`` tokens) up to ``max_len - 1``, and from then on are a ring:
the new token overwrites the oldest. So each token sees the last ``max_len`` tokens, itself
included, as torch's sliding ``KVCache`` gives them. Torch turns the kept keys back one position
per step past the context; here every key keeps the absolute position it was rotated at and the
query is rotated at its own absolute position: rotary scores depend only on the distance, so the
two agree (the tables are computed in float64, so positions far past the context lose nothing;
the queries' table carries the attention's scale).
"""

from __future__ import annotations

import numpy as np

GROW = 256  # buffer slots added at a time, below max_len - 1
TABLE = 4096  # rotary table positions computed at a time


class MusicState:
    """Per layer, keys ``[B, H, D, cap]`` (transposed) and values ``[B, H, cap, D]``; ``n``: tokens
    read so far (the next token's absolute position); ``mask``: 0 on a slot that holds a key."""

    def __init__(self, runner, batch: int, cap: int):
        c = runner.config
        L, H, D = c.n_layer, c.n_head, c.n_embd // c.n_head
        self.n = 0
        self.k = [np.zeros((batch, H, D, cap), dtype=np.float32) for _ in range(L)]
        self.v = [np.zeros((batch, H, cap, D), dtype=np.float32) for _ in range(L)]
        self.mask = np.full(cap, -np.inf, dtype=np.float32)

    @property
    def cap(self) -> int:
        return self.mask.shape[0]

    def repeat(self, rows: int) -> MusicState:
        """A copy of this one-row state for ``rows`` rows (``music infill`` continues one context's
        buffers once per candidate)."""
        out = object.__new__(MusicState)
        out.n, out.mask = self.n, self.mask.copy()
        out.k = [np.repeat(k, rows, axis=0) for k in self.k]
        out.v = [np.repeat(v, rows, axis=0) for v in self.v]
        return out

    def grow(self, cap: int) -> None:
        pad = cap - self.cap
        self.k = [np.concatenate([k, np.zeros((*k.shape[:3], pad), np.float32)], axis=3) for k in self.k]
        self.v = [np.concatenate([v, np.zeros((*v.shape[:2], pad, v.shape[3]), np.float32)], axis=2)
                  for v in self.v]
        self.mask = np.concatenate([self.mask, np.full(pad, -np.inf, dtype=np.float32)])


class OnnxMusic:
    """The step graph over buffers it never copies; slides past ``max_len`` by itself
    (``slides_itself``: ``generate_numpy`` leaves the cache to it)."""

    slides_itself = True

    def __init__(self, graphs: dict, config):
        self.graphs, self.config = graphs, config
        self.graph = graphs["step"]
        self.max_len = int(self.graph.meta.get("max_len") or config.max_len)
        self.slots = self.max_len - 1  # earlier tokens a new token sees (itself the max_len-th)
        D = self.D = config.n_embd // config.n_head
        self.inv = 1.0 / float(getattr(config, "rope_base", 10000.0)) ** (np.arange(0, D, 2, dtype=np.float64) / D)
        self.L = config.n_layer
        self._cos = self._sin = np.zeros((0, 2, 1, D), dtype=np.float32)

    def tables(self, start: int, T: int):
        """The step graph's rotary tables ``[T, 2, 1, D]`` of positions ``start .. start + T - 1``
        (``[:, 0]`` the queries', times ``1 / sqrt(D)``; ``[:, 1]`` the keys'), from float64 angles,
        computed ``TABLE`` positions at a time and kept."""
        if start + T > len(self._cos):
            n = -(-(start + T) // TABLE) * TABLE
            f = np.arange(n, dtype=np.float64)[:, None] * self.inv[None, :]
            cos = np.repeat(np.cos(f), 2, axis=1)
            sin = np.stack([-np.sin(f), np.sin(f)], axis=-1).reshape(n, -1)
            scale = 1.0 / np.sqrt(self.D)
            self._cos, self._sin = (np.stack([t * scale, t], axis=1)[:, :, None].astype(np.float32)
                                    for t in (cos, sin))
        return self._cos[start: start + T], self._sin[start: start + T]

    def __call__(self, idx, cond=None, cache=None):
        idx = np.asarray(idx, dtype=np.int64)
        B, T = idx.shape
        cond = np.asarray(cond if cond is not None else np.zeros(B), dtype=np.int64).reshape(B)
        st = cache if cache is not None else MusicState(self, B, min(self.slots, _round_up(T)))
        if T > 1 and min(st.n, self.slots) + T > self.max_len:  # would push out keys mid-call: one by one
            logits = [self(idx[:, j: j + 1], cond, st)[0] for j in range(T)]
            return np.concatenate(logits, axis=1), st
        if st.n + T > st.cap and st.cap < self.slots:
            st.grow(min(self.slots, _round_up(st.n + T)))
        cos, sin = self.tables(st.n, T)
        feeds = {"idx": idx, "cond": cond, "cos": cos, "sin": sin, "buf_mask": st.mask}
        feeds.update({f"k_{i}": k for i, k in enumerate(st.k)})
        feeds.update({f"v_{i}": v for i, v in enumerate(st.v)})
        out = self.graph.run(**feeds)
        k, v = out["k"], out["v"]  # [L, B, H, T, D]
        if T == 1:
            slot = st.n % st.cap
            for i in range(self.L):
                st.k[i][..., slot] = k[i, :, :, 0]
                st.v[i][:, :, slot] = v[i, :, :, 0]
            st.mask[slot] = 0.0
        else:
            keep = min(T, st.cap)  # of a call longer than the buffer, the last tokens stay
            slots = (st.n + np.arange(T - keep, T)) % st.cap
            k, v = k[:, :, :, T - keep:], v[:, :, :, T - keep:]
            for i in range(self.L):
                st.k[i][..., slots] = k[i].transpose(0, 1, 3, 2)
                st.v[i][:, :, slots] = v[i]
            st.mask[slots] = 0.0
        st.n += T
        return out["logits"], st


def _round_up(n: int) -> int:
    return max(GROW, -(-n // GROW) * GROW)
