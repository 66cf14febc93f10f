"""The compressive Transformer on ONNX Runtime, without torch: ``logits, cache = model(idx, cond,
cache)`` on numpy arrays (core's cache protocol, so ``seqkit.generation.generate_numpy`` samples from it).

The ``step`` graph (``onnx_graphs.py``) reads as many tokens a call as fit in the current
segment (a primer in whole segments, as torch reads it, then one token a call); their keys,
values and layer inputs are written into the buffers here, in place; when a segment is full its
layer inputs go into the memories here, as ``CompressiveTransformer._remember`` does (the oldest
fall out of the memory into the ``compress`` graph, the compressed memory keeps its last
``cmem_len``), and the ``memory_kv`` graph gives the memories' keys/values for the next segment.
``seqkit.load_for_inference`` builds it (the graphs' metadata names this class).
"""

from __future__ import annotations

import numpy as np


class CompressiveState:
    """The buffers of the step graph (per layer keys ``[B, H, D, P + S]``, transposed, and values
    ``[B, H, P + S, D]``; layer inputs ``[L, B, S, C]``), their mask and the memories (per layer
    ``[B, n, C]`` or ``None``)."""

    def __init__(self, runner, batch: int):
        c = runner.config
        L, H, C, S, P = c.n_layer, c.n_head, c.n_embd, c.seg_len, runner.offset
        D = C // H
        self.t = 0
        self.k = [np.zeros((batch, H, D, P + S), dtype=np.float32) for _ in range(L)]
        self.v = [np.zeros((batch, H, P + S, D), dtype=np.float32) for _ in range(L)]
        self.xbuf = np.zeros((L, batch, S, C), dtype=np.float32)
        self.mask = [np.full(P + S, -np.inf, dtype=np.float32) for _ in range(L)]  # 0 on a slot that holds a key
        self.mem: list = [None] * L
        self.cmem: list = [None] * L


class OnnxCompressive:
    def __init__(self, graphs: dict, config):
        self.graphs, self.config = graphs, config
        self.step_graph = graphs["step"]
        self.offset = int(self.step_graph.meta["offset"])
        c = config
        layers = list(getattr(c, "memory_layers", ()) or ())
        self.memory_layers = [i for i in range(c.n_layer)
                              if c.mem_len > 0 and (not layers or i + 1 in layers)]
        self.max_len = None
        S = c.seg_len
        self._causal = np.triu(np.full((S, S), -np.inf, dtype=np.float32), 1)
        self._pos = np.arange(self.offset, self.offset + S, dtype=np.int64)
        self._names = [f"{n}_{i}" for n in ("mask", "k", "v") for i in range(c.n_layer)]

    def __call__(self, idx, cond=None, cache=None):
        """Logits ``[B, T, V]`` of ``idx`` read after ``cache``: as many tokens a graph call as fit
        in the current segment."""
        idx = np.asarray(idx, dtype=np.int64)
        B, T = idx.shape
        st = cache if cache is not None else CompressiveState(self, B)
        cond = np.asarray(cond if cond is not None else np.zeros(B), dtype=np.int64).reshape(B)
        S, P, L = self.config.seg_len, self.offset, self.config.n_layer
        logits, j = [], 0
        while j < T:
            n = min(T - j, S - st.t)
            t = st.t
            feeds = {"idx": idx[:, j: j + n], "cond": cond, "pos": self._pos[t: t + n],
                     "causal": self._causal[:n, :n]}
            feeds.update(zip(self._names, st.mask + st.k + st.v))
            out = self.step_graph.run(**feeds)
            for i in range(L):  # the new tokens' slots, in place: k [B, H, n, D], v, x [B, n, C]
                st.k[i][..., P + t: P + t + n] = out[f"k_out_{i}"].transpose(0, 1, 3, 2)
                st.v[i][:, :, P + t: P + t + n] = out[f"v_out_{i}"]
                st.xbuf[i, :, t: t + n] = out[f"x_out_{i}"]
                st.mask[i][P + t: P + t + n] = 0.0
            logits.append(out["logits"])
            st.t += n
            j += n
            if st.t == S:
                self._roll(st)
        return (np.concatenate(logits, axis=1) if len(logits) > 1 else logits[0]), st

    def _roll(self, st: CompressiveState) -> None:
        """The segment is full: its inputs into the memories, their keys/values into the buffers."""
        c = self.config
        olds = {}
        for i in self.memory_layers:
            x = st.xbuf[i]
            full = x.copy() if st.mem[i] is None else np.concatenate([st.mem[i], x], axis=1)
            if full.shape[1] <= c.mem_len:
                st.mem[i] = full
                continue
            olds[i], st.mem[i] = full[:, : -c.mem_len], full[:, -c.mem_len:]
        if olds and "compress" in self.graphs:
            first = next(iter(olds.values()))
            old = np.zeros((c.n_layer, *first.shape), dtype=np.float32)
            for i, o in olds.items():
                old[i] = o
            compressed = self.graphs["compress"].run(old=old)["compressed"]
            for i in olds:
                cm = compressed[i] if st.cmem[i] is None else np.concatenate([st.cmem[i], compressed[i]], axis=1)
                st.cmem[i] = cm[:, -c.cmem_len:]
        for m in st.mask:  # an empty segment
            m[self.offset:] = -np.inf
        self._load_memory_kv(st)
        st.t = 0

    def _load_memory_kv(self, st: CompressiveState) -> None:
        P = self.offset
        mems = {i: st.mem[i] if st.cmem[i] is None else np.concatenate([st.cmem[i], st.mem[i]], axis=1)
                for i in self.memory_layers if st.mem[i] is not None}
        if not mems:
            return
        first = next(iter(mems.values()))
        n = first.shape[1]
        mem = np.zeros((self.config.n_layer, *first.shape), dtype=np.float32)
        for i, m in mems.items():
            mem[i] = m
        out = self.graphs["memory_kv"].run(mem=mem, pos=np.arange(P - n, P, dtype=np.int64))
        for i in mems:
            st.k[i][..., P - n:P] = out["k"][i].transpose(0, 1, 3, 2)
            st.v[i][:, :, P - n:P] = out["v"][i]
            st.mask[i][:P] = np.where(np.arange(P) >= P - n, 0.0, -np.inf)
