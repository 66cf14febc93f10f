"""The compressive Transformer on ONNX Runtime, without torch: ``logits, cache = model(idx, cond,
cache)`` on numpy arrays (core's cache protocol, so ``seqkit.generate_numpy`` samples from it).

Every token, of the prompt too, is one call of the ``step`` graph (``onnx_graphs.py``), whose new
keys, values and layer inputs are written into the buffers here, in place; when a
segment is full its layer inputs go into the memories here, as ``CompressiveTransformer._remember``
does (the oldest fall out of the memory into the ``compress`` graph, the compressed memory keeps its
last ``cmem_len``), and the ``memory_kv`` graph gives the memories' keys/values for the next segment.
``seqkit.load_for_inference`` builds it (the graphs' metadata names this class).
"""

from __future__ import annotations

import numpy as np


class CompressiveState:
    """The buffers of the step graph and the memories (per layer ``[B, n, C]`` or ``None``)."""

    def __init__(self, runner, batch: int):
        c = runner.config
        L, H, C, S, P = c.n_layer, c.n_head, c.n_embd, c.seg_len, runner.offset
        self.t = 0
        self.kbuf = np.zeros((L, batch, H, P + S, C // H), dtype=np.float32)
        self.vbuf = np.zeros_like(self.kbuf)
        self.xbuf = np.zeros((L, batch, S, C), dtype=np.float32)
        self.mem_mask = np.full((L, P), -np.inf, dtype=np.float32)
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

    def __call__(self, idx, cond=None, cache=None):
        idx = np.asarray(idx, dtype=np.int64)
        B = idx.shape[0]
        st = cache if cache is not None else CompressiveState(self, B)
        cond = np.asarray(cond if cond is not None else np.zeros(B), dtype=np.int64).reshape(B)
        logits = []
        for j in range(idx.shape[1]):
            out = self.step_graph.run(idx=idx[:, j: j + 1], cond=cond, t=np.array([st.t], dtype=np.int64),
                                      mem_mask=st.mem_mask, kbuf=st.kbuf, vbuf=st.vbuf)
            slot = self.offset + st.t
            st.kbuf[:, :, :, slot] = out["k"][:, :, :, 0]  # the new token's slot, in place
            st.vbuf[:, :, :, slot] = out["v"][:, :, :, 0]
            st.xbuf[:, :, st.t] = out["x"][:, :, 0]
            logits.append(out["logits"])
            st.t += 1
            if st.t == self.config.seg_len:
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
            st.kbuf[i][:, :, P - n:P] = out["k"][i]
            st.vbuf[i][:, :, P - n:P] = out["v"][i]
            st.mem_mask[i] = np.where(np.arange(P) >= P - n, 0.0, -np.inf)
