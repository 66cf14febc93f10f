"""Decoding with the compressive Transformer: its cache (memories and compressed memories, core's
cache protocol) and one-token steps with fixed shapes over preallocated key/value buffers,
captured as a CUDA graph on CUDA (``_make_static``, ``_step``, ``_capture``, ``_roll``).

``StepDecoding`` is a mixin of ``CompressiveTransformer``: it reads the model's blocks, ``rope``,
``_embed``, ``_remember`` and ``_memory``.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F


class CompressiveCache:
    """What generation carries between calls, per layer: the memory and the compressed memory
    (layer inputs, ``[B, N, C]``), and the current segment's layer inputs and keys/values.

    After the prompt the segment lives in preallocated buffers (``kbuf``/``vbuf`` hold
    ``[compressed memory | memory | segment]`` keys/values, right-aligned memories), so that a
    one-token step has fixed shapes and can be replayed as a CUDA graph.
    """

    def __init__(self):
        self.mem: list = []
        self.cmem: list = []
        self.seg_x: list = []  # current segment's layer inputs (memory layers)
        self.seg_kv: list = []  # current segment's (k, v)
        self.t = 0  # tokens in the current segment
        self.started = False
        self.static = None  # _StaticState once one-token steps begin

    @property
    def length(self) -> int:
        """Tokens in the current segment (memories hold the older ones)."""
        return self.t


class _StaticState:
    pass


def compute_dtype(x):
    """The dtype activations will have: autocast's when it is on (CUDA), else ``x``'s."""
    if x.is_cuda and torch.is_autocast_enabled("cuda"):
        return torch.get_autocast_dtype("cuda")
    return x.dtype


class StepDecoding:
    """The one-token-at-a-time half of ``CompressiveTransformer`` (inference only)."""

    # ------------------------------------------------------------ one token at a time

    @torch.no_grad()
    def _forward_steps(self, idx, cond, cache):
        """New tokens after a prompt, one fixed-shape step each (inference only: no gradients)."""
        st = cache.static
        if st is None or st.batch != idx.size(0):
            st = cache.static = self._make_static(cache, idx.size(0), idx.device)
        logits = []
        for j in range(idx.size(1)):
            logits.append(self._step(idx[:, j:j + 1], cond, st, cache))
        return (torch.cat(logits, dim=1) if len(logits) > 1 else logits[0]), cache

    def _make_static(self, cache, B, device):
        c = self.config
        dtype = self.tok.weight.dtype
        H, D, P, S = c.n_head, c.n_embd // c.n_head, self.offset, c.seg_len
        st = _StaticState()
        st.batch, st.graph = B, None
        st.kbuf, st.vbuf, st.xbuf = [], [], []
        for i, block in enumerate(self.blocks):
            size = P + S if block.memory else S
            k = torch.zeros(B, H, size, D, device=device, dtype=dtype)
            v = torch.zeros_like(k)
            base = P if block.memory else 0
            if cache.t:
                k[:, :, base:base + cache.t] = cache.seg_kv[i][0]
                v[:, :, base:base + cache.t] = cache.seg_kv[i][1]
            st.kbuf.append(k)
            st.vbuf.append(v)
            x = None
            if block.memory:
                x = torch.zeros(B, S, c.n_embd, device=device, dtype=dtype)
                if cache.t:
                    x[:, :cache.t] = cache.seg_x[i]
            st.xbuf.append(x)
        st.mem_valid = torch.zeros(P, dtype=torch.bool, device=device)
        st.seg_pos = torch.arange(S, device=device)
        st.t = torch.full((1,), cache.t, dtype=torch.long, device=device)
        st.idx = torch.zeros(B, 1, dtype=torch.long, device=device)
        st.cond = torch.zeros(B, dtype=torch.long, device=device)
        st.zero = torch.zeros((), dtype=dtype, device=device)
        st.ninf = torch.full((), float("-inf"), dtype=dtype, device=device)
        self._load_memory_kv(cache, st)
        cache.seg_x, cache.seg_kv = [], []
        return st

    @torch.no_grad()
    def _load_memory_kv(self, cache, st):
        """Write the keys/values of ``[cmem; mem]`` right-aligned before the segment's slots."""
        P = self.offset
        cos, sin = self.rope(st.mem_valid.device, st.kbuf[0].dtype)
        n = 0
        for i in self.memory_layers:
            m = self._memory(i, cache)
            if m is None:
                continue
            n = m.size(1)
            k, v = self.blocks[i].memory_kv(m.to(st.kbuf[i].dtype), cos[P - n:P], sin[P - n:P])
            st.kbuf[i][:, :, P - n:P] = k
            st.vbuf[i][:, :, P - n:P] = v
        st.mem_valid.copy_(torch.arange(P, device=st.mem_valid.device) >= P - n)

    def _decode(self, st):
        """One token (``st.idx``) at position ``st.t`` of the segment: fixed shapes, no host sync."""
        P = self.offset
        cos, sin = self.rope(st.idx.device, st.kbuf[0].dtype)
        pos = st.t + P
        cos, sin = cos.index_select(0, pos), sin.index_select(0, pos)
        seg_ok = st.seg_pos <= st.t  # additive masks, made once for all layers
        seg_mask = torch.where(seg_ok, st.zero, st.ninf).view(1, 1, 1, -1)
        mem_mask = torch.where(torch.cat([st.mem_valid, seg_ok]), st.zero, st.ninf).view(1, 1, 1, -1)
        x = self._embed(st.idx, st.cond if self.cond is not None else None)
        for i, block in enumerate(self.blocks):
            attn = block.attn
            if block.memory:
                st.xbuf[i].index_copy_(1, st.t, x)
            q, k, v = attn.qkv_heads(block.ln1(x), cos, sin)
            slot = pos if block.memory else st.t
            st.kbuf[i].index_copy_(2, slot, k)
            st.vbuf[i].index_copy_(2, slot, v)
            mask = mem_mask if block.memory else seg_mask
            y = F.scaled_dot_product_attention(q, st.kbuf[i], st.vbuf[i], attn_mask=mask)
            x = x + attn.out(y)
            x = x + block.mlp(block.ln2(x))
        return self.head(self.ln_f(x))

    def _step(self, idx, cond, st, cache):
        st.idx.copy_(idx)
        if self.cond is not None:
            if cond is None:
                raise ValueError("this model is conditional: pass cond")
            st.cond.copy_(cond)
        if st.graph is None and st.idx.is_cuda and self.cuda_graphs and not self.training:
            try:
                st.graph = self._capture(st)
            except RuntimeError as exc:  # keep generating, one eager step at a time
                warnings.warn(f"compressive: CUDA graph capture failed, running eagerly ({exc})", stacklevel=2)
                self.cuda_graphs = False
        if st.graph is not None:
            st.graph.replay()
            logits = st.logits.clone()
        else:
            logits = self._decode(st)
        cache.t += 1
        if cache.t == self.config.seg_len:
            self._roll(cache, st)
        else:
            st.t.add_(1)
        return logits

    def _capture(self, st):
        decode = self._decode
        if self.compile_decode:
            if getattr(self, "_compiled_decode", None) is None:
                self._compiled_decode = torch.compile(self._decode, dynamic=False)
            decode = self._compiled_decode
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm up: same slots as the real step will write
            for _ in range(2):
                decode(st)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            st.logits = decode(st)
        return graph

    @torch.no_grad()
    def _roll(self, cache, st):
        """The segment is full: its inputs go into the memories; start an empty segment."""
        for i in self.memory_layers:
            cache.mem[i], cache.cmem[i], _ = self._remember(i, cache.mem[i], cache.cmem[i], st.xbuf[i])
        self._load_memory_kv(cache, st)
        cache.t = 0
        st.t.zero_()
