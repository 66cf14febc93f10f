"""Compressive Transformer (Rae et al. 2019, https://arxiv.org/abs/1911.05507) as a seqkit LM.

A decoder-only Transformer that reads a long sequence segment by segment (``seg_len`` tokens).
Each memory layer keeps

* a memory: the layer's inputs for the last ``mem_len`` positions, first in, first out;
* a compressed memory: what falls out of the memory, shrunk ``cmem_ratio`` times by a compression
  function (a strided 1-D convolution, or mean/max pooling), the last ``cmem_len`` of them.

A segment's queries attend to ``[compressed memory; memory; segment]`` (causally within the
segment). Positions are relative (rotary embeddings over that concatenation, so one compressed
slot counts as one step). Memories are detached: training on a window of several segments is
truncated backprop through time. The convolution is trained only by the attention-reconstruction
loss of the paper (queries, old memories and attention weights under stop-gradient), which the
forward pass leaves in ``self.aux_loss`` for ``seqkit.training.lm_loss`` to add.

``logits, cache = model(idx, cond=None, cache=None)``: without a cache ``idx`` is the whole
sequence; with the ``CompressiveCache`` returned last time, only the new tokens, which are then run
one at a time against preallocated key/value buffers (captured as a CUDA graph on CUDA), rolling
the memories whenever a segment is full; when the last call ended on a segment boundary, several
new tokens are read on segment by segment instead (how ``music eval`` scores a whole piece in
windows). Nothing of the past is ever recomputed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention.bias import causal_lower_right

from seqkit import MLP, SeqkitError, rope_tables

COMPRESSIONS = ("conv", "mean", "max")
_INTS = ("vocab_size", "n_layer", "n_head", "n_embd", "d_ff", "n_cond", "seg_len", "mem_len",
         "cmem_len", "cmem_ratio")
_FLOATS = ("dropout", "aux_weight")


@dataclass
class CompressiveConfig:
    vocab_size: int
    n_layer: int = 6
    n_head: int = 8
    n_embd: int = 512
    d_ff: int = 0  # 0 = 4 * n_embd
    dropout: float = 0.0
    n_cond: int = 0
    bias: bool = False
    seg_len: int = 512  # tokens per segment (the attention window of the current tokens)
    mem_len: int = 512  # memory per layer; 0 = a plain Transformer over each segment
    cmem_len: int = 128  # compressed memory per layer; 0 = none (Transformer-XL)
    cmem_ratio: int = 4  # memories per compressed memory
    compression: str = "conv"  # conv | mean | max
    memory_layers: tuple = ()  # 1-based layers with memories; empty = every layer
    aux_weight: float = 1.0  # weight of the attention-reconstruction loss

    def __post_init__(self):
        self._coerce()
        c = self
        if c.vocab_size < 1 or c.n_layer < 1 or c.n_head < 1 or c.n_embd < 1:
            raise SeqkitError("vocab_size, n_layer, n_head and n_embd must be positive")
        if c.n_embd % c.n_head or (c.n_embd // c.n_head) % 2:
            raise SeqkitError(f"n_embd ({c.n_embd}) must be n_head ({c.n_head}) times an even head size")
        if c.seg_len < 1:
            raise SeqkitError(f"seg_len must be at least 1, not {c.seg_len}")
        if c.mem_len < 0 or c.cmem_len < 0 or c.cmem_ratio < 1:
            raise SeqkitError("mem_len and cmem_len must be >= 0 and cmem_ratio >= 1")
        if c.compression not in COMPRESSIONS:
            raise SeqkitError(f"compression must be one of {', '.join(COMPRESSIONS)}, not {c.compression!r}")
        if not 0 <= c.dropout < 1 or c.aux_weight < 0:
            raise SeqkitError("dropout must be in [0, 1) and aux_weight >= 0")
        bad = [layer for layer in c.memory_layers if not 1 <= layer <= c.n_layer]
        if bad:
            raise SeqkitError(f"memory_layers {bad} outside 1..{c.n_layer} (layers count from 1)")
        if c.cmem_len:
            if not c.mem_len:
                raise SeqkitError("cmem_len > 0 needs mem_len > 0: compressed memories are made "
                                  "from what falls out of the memory")
            if c.mem_len % c.cmem_ratio or c.seg_len % c.cmem_ratio:
                raise SeqkitError(f"mem_len ({c.mem_len}) and seg_len ({c.seg_len}) must be multiples "
                                  f"of cmem_ratio ({c.cmem_ratio}) so that evicted memories compress evenly")
            if c.cmem_len < c.mem_len // c.cmem_ratio:
                raise SeqkitError(f"cmem_len ({c.cmem_len}) is shorter than mem_len / cmem_ratio "
                                  f"({c.mem_len} / {c.cmem_ratio} = {c.mem_len // c.cmem_ratio}): "
                                  f"it could not hold one memory's worth of compressed memories")

    def _coerce(self):
        """Accept strings (``--set mem_len=512``, ``memory_layers=5,6``) and JSON lists."""
        for names, kind in ((_INTS, int), (_FLOATS, float)):
            for name in names:
                v = getattr(self, name)
                if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                    continue
                try:
                    if kind is int and isinstance(v, float) and v != int(v):
                        raise ValueError
                    setattr(self, name, kind(v))
                except (ValueError, OverflowError):
                    raise SeqkitError(f"compressive config: {name} must be {'an integer' if kind is int else 'a number'}, "
                                      f"not {v!r}") from None
        if isinstance(self.bias, str):
            if self.bias.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise SeqkitError(f"bias must be true or false, not {self.bias!r}")
            self.bias = self.bias.lower() in ("true", "1", "yes")
        layers = self.memory_layers
        if isinstance(layers, str):
            layers = [p for p in layers.replace(" ", "").split(",") if p]
        elif isinstance(layers, int):
            layers = [layers]
        try:
            self.memory_layers = tuple(sorted({int(x) for x in (layers or ())}))
        except ValueError:
            raise SeqkitError(f"memory_layers must be layer numbers like 5,6, not {self.memory_layers!r}") from None

    def is_memory_layer(self, i: int) -> bool:
        """Whether block ``i`` (0-based) keeps memories."""
        return self.mem_len > 0 and (not self.memory_layers or i + 1 in self.memory_layers)


# ---------------------------------------------------------------- pieces

def rope(x, cos, sin):
    """Core's rotary embedding (pairs of channels ``(2i, 2i+1)`` rotated), written as
    ``x * cos + swap_pairs(x) * sin`` with tables of the full head size (see ``_tables``): four
    kernels forward, no strided slices to scatter back in the backward pass."""
    swapped = x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)
    return x * cos + swapped * sin


def _tables(head_dim: int, length: int, device, dtype):
    cos, sin = rope_tables(head_dim, length, device)  # [L, D/2]
    cos = cos.repeat_interleave(2, dim=-1)
    sin = torch.stack([-sin, sin], dim=-1).flatten(-2)  # even channels get -sin, odd +sin
    return cos.to(dtype), sin.to(dtype)


class Attention(nn.Module):
    """Causal self-attention that may also read memory keys/values (same layout as core's)."""

    def __init__(self, c: CompressiveConfig):
        super().__init__()
        self.n_head = c.n_head
        self.qkv = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
        self.proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias)
        self.dropout = c.dropout
        self.resid_drop = nn.Dropout(c.dropout)

    def heads(self, t):
        B, T, C = t.shape
        return t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)

    def qkv_heads(self, h, cos, sin):
        """Queries, keys, values ``[B, H, T, D]`` of normalised inputs ``h``, rotated to positions."""
        B, T, C = h.shape
        H = self.n_head
        qk, v = self.qkv(h).view(B, T, 3 * H, C // H).transpose(1, 2).split([2 * H, H], dim=1)
        q, k = rope(qk, cos, sin).split(H, dim=1)  # queries and keys rotated together
        return q, k, v

    def memory_kv(self, h, cos, sin):
        """Keys and values of normalised memories ``h`` ``[B, N, C]`` at their positions."""
        C = h.size(-1)
        w = self.qkv.weight[C:]
        b = self.qkv.bias[C:] if self.qkv.bias is not None else None
        k, v = F.linear(h, w, b).split(C, dim=2)
        return rope(self.heads(k), cos, sin), self.heads(v)

    def out(self, y):
        B, H, T, D = y.shape
        return self.resid_drop(self.proj(y.transpose(1, 2).reshape(B, T, H * D)))

    def forward(self, h, cos, sin, mem_kv=None):
        """Attention of the new tokens to ``mem_kv`` (all visible) and, causally, to themselves.
        Returns the output and the new tokens' keys/values."""
        q, k, v = self.qkv_heads(h, cos, sin)
        keys, values = k, v
        if mem_kv is not None:
            keys = torch.cat([mem_kv[0], k], dim=2)
            values = torch.cat([mem_kv[1], v], dim=2)
        T, S = q.size(2), keys.size(2)
        p = self.dropout if self.training else 0.0
        if S == T:
            y = F.scaled_dot_product_attention(q, keys, values, dropout_p=p, is_causal=T > 1)
        else:
            y = F.scaled_dot_product_attention(q, keys, values, attn_mask=_lower_right(T, S, q.device), dropout_p=p)
        return self.out(y), (k, v)


def _lower_right(T: int, S: int, device):
    """Causal mask for ``T`` queries that are the last ``T`` of ``S`` keys. Eager mode uses
    torch's ``causal_lower_right`` (flash attention); under ``torch.compile``, whose tracer cannot
    build that tensor subclass, an explicit boolean mask."""
    if torch.compiler.is_compiling():
        return torch.ones(T, S, dtype=torch.bool, device=device).tril(S - T)
    return causal_lower_right(T, S)


class Compression(nn.Module):
    """``[B, N, C] -> [B, N / ratio, C]``: strided convolution (starts as mean pooling) or pooling."""

    def __init__(self, c: CompressiveConfig):
        super().__init__()
        self.kind, self.ratio = c.compression, c.cmem_ratio
        if self.kind == "conv":
            self.conv = nn.Conv1d(c.n_embd, c.n_embd, c.cmem_ratio, stride=c.cmem_ratio)

    def reset_parameters(self):
        if self.kind == "conv":
            with torch.no_grad():
                self.conv.weight.zero_()
                eye = torch.eye(self.conv.weight.size(0)) / self.ratio
                self.conv.weight.copy_(eye[:, :, None].expand_as(self.conv.weight))
                self.conv.bias.zero_()

    def forward(self, mem):
        x = mem.transpose(1, 2)
        if self.kind == "conv":
            x = self.conv(x)
        elif self.kind == "mean":
            x = F.avg_pool1d(x, self.ratio, self.ratio)
        else:
            x = F.max_pool1d(x, self.ratio, self.ratio)
        return x.transpose(1, 2)


class Block(nn.Module):
    def __init__(self, c: CompressiveConfig, memory: bool):
        super().__init__()
        self.memory = memory
        self.ln1 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.attn = Attention(c)
        self.ln2 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.mlp = MLP(c.n_embd, c.d_ff or 4 * c.n_embd, c.dropout, c.bias)
        self.compress = Compression(c) if memory and c.cmem_len else None

    def forward(self, x, cos, sin, mem_kv=None):
        a, kv = self.attn(self.ln1(x), cos, sin, mem_kv)
        x = x + a
        return x + self.mlp(self.ln2(x)), kv

    def memory_kv(self, mem, cos, sin):
        return self.attn.memory_kv(self.ln1(mem), cos, sin)

    def reconstruction_loss(self, h, old, compressed):
        """Attention-reconstruction loss: how differently the segment's queries read the old
        memories and their compression. Everything but the compression is under stop-gradient."""
        C = h.size(-1)
        ln_w = self.ln1.weight.detach()
        ln_b = self.ln1.bias.detach() if self.ln1.bias is not None else None
        w = self.attn.qkv.weight.detach()
        b = self.attn.qkv.bias.detach() if self.attn.qkv.bias is not None else None

        def norm(t):
            return F.layer_norm(t, (C,), ln_w, ln_b)

        q = self.attn.heads(F.linear(norm(h), w[:C], None if b is None else b[:C]))

        def attend(m):
            k, v = F.linear(norm(m), w[C:], None if b is None else b[C:]).split(C, dim=2)
            return F.scaled_dot_product_attention(q, self.attn.heads(k), self.attn.heads(v))

        with torch.no_grad():
            target = attend(old)
        return F.mse_loss(attend(compressed).float(), target.float())


# ---------------------------------------------------------------- the cache

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


def _compute_dtype(x):
    """The dtype activations will have: autocast's when it is on (CUDA), else ``x``'s."""
    if x.is_cuda and torch.is_autocast_enabled("cuda"):
        return torch.get_autocast_dtype("cuda")
    return x.dtype


# ---------------------------------------------------------------- the model

class CompressiveTransformer(nn.Module):
    config_class = CompressiveConfig

    def __init__(self, config: CompressiveConfig):
        super().__init__()
        self.config = c = config
        self.tok = nn.Embedding(c.vocab_size, c.n_embd)
        self.cond = nn.Embedding(c.n_cond, c.n_embd) if c.n_cond else None
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c, c.is_memory_layer(i)) for i in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.head.weight = self.tok.weight  # weight tying
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layer))
        for block in self.blocks:
            if block.compress is not None:
                block.compress.reset_parameters()
        self.memory_layers = [i for i, b in enumerate(self.blocks) if b.memory]
        self.offset = (c.cmem_len + c.mem_len) if self.memory_layers else 0  # first segment position
        self._rope: dict = {}
        self.aux_loss = None
        self.cuda_graphs = True  # capture one-token steps on CUDA
        self.compile_decode = False  # torch.compile the one-token step before capturing it

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def new_cache(self) -> CompressiveCache:
        return CompressiveCache()

    def rope(self, device, dtype=torch.float32):
        """cos/sin tables ``[positions, head size]`` for every position of ``[cmem | mem | segment]``."""
        key = (str(device), dtype)
        if key not in self._rope:
            c = self.config
            self._rope[key] = _tables(c.n_embd // c.n_head, self.offset + c.seg_len, device, dtype)
        return self._rope[key]

    def _embed(self, idx, cond):
        x = self.tok(idx)
        if self.cond is not None:
            if cond is None:
                raise ValueError("this model is conditional: pass cond")
            x = x + self.cond(cond)[:, None, :]
        return self.drop(x)

    # ------------------------------------------------------------ memories

    def _remember(self, i, mem, cmem, x):
        """Push segment inputs ``x`` into layer ``i``'s memory; compress what falls out.
        Returns the new (mem, cmem) and, in training, the reconstruction loss (or None)."""
        c = self.config
        x = x.detach()
        full = x.clone() if mem is None else torch.cat([mem, x.to(mem.dtype)], dim=1)
        if full.size(1) <= c.mem_len:
            return full, cmem, None
        old, mem = full[:, :-c.mem_len], full[:, -c.mem_len:]
        block = self.blocks[i]
        if block.compress is None:
            return mem, cmem, None
        compressed = block.compress(old)
        loss = None
        if (self.training and c.aux_weight > 0 and c.compression == "conv" and torch.is_grad_enabled()):
            loss = block.reconstruction_loss(x, old, compressed)
        compressed = compressed.detach().to(mem.dtype)
        cmem = compressed if cmem is None else torch.cat([cmem, compressed], dim=1)[:, -c.cmem_len:]
        return mem, cmem, loss

    def _memory(self, i, cache):
        """Layer ``i``'s ``[compressed memory; memory]`` (or None)."""
        mem, cmem = cache.mem[i], cache.cmem[i]
        if mem is None:
            return None
        return mem if cmem is None else torch.cat([cmem, mem], dim=1)

    # ------------------------------------------------------------ forward

    def forward(self, idx, cond=None, cache: CompressiveCache | None = None, memory=None):
        if memory is not None:  # seqkit's memory protocol: read on from memories (streams)
            return self._read_on(idx, cond, memory)
        if cache is not None and cache.started:
            if cache.t == 0 and idx.size(1) > 1:  # read on from a segment boundary: whole segments
                return self._forward_segments(idx, cond, cache)
            return self._forward_steps(idx, cond, cache)
        return self._forward_segments(idx, cond, cache if cache is not None else CompressiveCache())

    # ------------------------------------------------------------ memory across windows

    @property
    def memory_segment(self) -> int:
        """Windows read with a memory are whole segments."""
        return self.config.seg_len

    def init_memory(self, batch_size: int, device) -> dict:
        """Empty memories (seqkit's memory protocol): per layer, the memory and the compressed
        memory, ``None`` until a segment has been read."""
        L = self.config.n_layer
        return {"mem": [None] * L, "cmem": [None] * L}

    def _read_on(self, idx, cond, memory: dict):
        """``idx`` read on from ``memory`` (the detached memories a previous window left), as
        Rae et al. and Transformer-XL train on streams: ``(logits, memories after idx)``."""
        if idx.size(1) % self.config.seg_len:
            raise SeqkitError(f"reading on from memories needs windows of whole segments: {idx.size(1)} "
                              f"tokens is not a multiple of seg_len {self.config.seg_len}")
        cache = CompressiveCache()
        cache.mem, cache.cmem = list(memory["mem"]), list(memory["cmem"])
        logits, cache = self._forward_segments(idx, cond, cache)
        return logits, {"mem": cache.mem, "cmem": cache.cmem}

    def _forward_segments(self, idx, cond, cache):
        """The whole sequence, segment by segment, memories carried (and detached) between them."""
        c = self.config
        B, T = idx.shape
        L = c.n_layer
        P = self.offset
        x_all = self._embed(idx, cond)
        cos, sin = self.rope(idx.device, _compute_dtype(x_all))
        if not cache.mem:  # else memories carried over from the previous window (_read_on)
            cache.mem, cache.cmem = [None] * L, [None] * L
        self.aux_loss = None
        aux, outs = [], []
        n_compressing = 0
        for x in x_all.split(c.seg_len, dim=1):
            n = x.size(1)
            inputs, kvs = [], []
            for i, block in enumerate(self.blocks):
                inputs.append(x)
                mem_kv = None
                m = self._memory(i, cache) if block.memory else None
                if m is not None:
                    mem_kv = block.memory_kv(m, cos[P - m.size(1):P], sin[P - m.size(1):P])
                x, kv = block(x, cos[P:P + n], sin[P:P + n], mem_kv)
                kvs.append(kv)
            outs.append(x)
            if n == c.seg_len:  # a full segment: into the memories
                before = len(aux)
                for i in self.memory_layers:
                    cache.mem[i], cache.cmem[i], loss = self._remember(i, cache.mem[i], cache.cmem[i], inputs[i])
                    if loss is not None:
                        aux.append(loss)
                n_compressing += len(aux) > before
                cache.t, cache.seg_x, cache.seg_kv = 0, [], []
            else:  # the partial last segment stays in the cache
                cache.t, cache.seg_x, cache.seg_kv = n, inputs, kvs
        if aux:  # summed over layers, averaged over the segments that compressed
            self.aux_loss = c.aux_weight * torch.stack(aux).sum() / n_compressing
        elif self.training and torch.is_grad_enabled() and c.aux_weight > 0 and c.compression == "conv" \
                and self.memory_layers and c.cmem_len:
            # nothing was compressed (a short window): a zero term keeps every parameter in the
            # graph, so DistributedDataParallel needs no find_unused_parameters
            convs = [p for i in self.memory_layers for p in self.blocks[i].compress.parameters()]
            self.aux_loss = 0.0 * sum(p.sum() for p in convs)
        x = torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]
        cache.started = True
        cache.static = None
        return self.head(self.ln_f(x)), cache

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
