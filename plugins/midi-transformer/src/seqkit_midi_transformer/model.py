"""Music Transformer (Huang et al. 2018): a decoder-only Transformer with relative self-attention.

``position="relative"``: the paper's relative attention. Each head learns an embedding ``Er`` per
relative distance (-max_len+1 .. 0); the logits get ``S_rel[i, j] = q_i . Er[j - i]``, computed as
``Q Er^T`` followed by the "skewing" trick (pad one column, reshape, drop a row) in O(T * D) extra
memory instead of the O(T^2 * D) of gathering an embedding for every pair. The result goes to
``F.scaled_dot_product_attention`` as an additive bias (fused softmax, no T x T probabilities kept
in fp32). ``relative_logits_naive`` is the O(T^2) reference the tests compare against.

``position="rope"``: the fast path. Rotary embeddings (Su et al.) also make attention depend on
relative position only, and leave the attention as plain causal SDPA, which runs as a
FlashAttention kernel on CUDA.

Both kinds need no absolute positions, so generation is not limited to ``max_len``: the cache is
core's sliding ``KVCache``, a ring of ``max_len`` slots, and attention beyond it is a sliding
window. Call convention (core's cache protocol, so ``seqkit.generate`` samples from it)::

    logits, cache = model(idx, cond=None, cache=None)

Without a cache the whole sequence is read (in eval mode a cache is returned to continue from);
with the cache the call returned, ``idx`` holds only the new tokens. Batched: every row advances
together. ``model.compile_decode = True`` (CUDA): the one-token step runs as a CUDA graph
(``torch.compile`` with ``mode="reduce-overhead"``) over static ring buffers, compiled once per
batch size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from seqkit import KVCache, apply_rope, init_weights, ring_window, rope_tables


@dataclass
class MusicTransformerConfig:
    vocab_size: int = 391
    n_layer: int = 6
    n_head: int = 8
    n_embd: int = 512
    d_ff: int = 1024
    max_len: int = 2048
    dropout: float = 0.1
    position: str = "relative"  # "relative" (paper, skewing) | "rope" (rotary, fused SDPA)
    rope_base: float = 10000.0
    n_cond: int = 0

    def __post_init__(self):
        from seqkit import check_sizes

        check_sizes(self, "vocab_size", "n_layer", "n_head", "n_embd", "d_ff", "max_len")
        if self.position not in ("relative", "rope"):
            from seqkit import SeqkitError

            raise SeqkitError(f"position must be 'relative' or 'rope', not {self.position!r}")
        if self.n_embd % self.n_head:
            from seqkit import SeqkitError

            raise SeqkitError(f"n_embd {self.n_embd} is not a multiple of n_head {self.n_head}")


PRESETS = {
    # Huang et al. 2018, MAESTRO experiments: 6 layers, d_model 512, 8 heads, d_ff 1024, 2048 tokens
    "paper": dict(n_layer=6, n_embd=512, n_head=8, d_ff=1024, max_len=2048, dropout=0.1),
    # small enough to train on a laptop CPU in minutes and to generate fast there
    "small": dict(n_layer=4, n_embd=256, n_head=4, d_ff=1024, max_len=512, dropout=0.1),
    # for tests
    "tiny": dict(n_layer=2, n_embd=32, n_head=2, d_ff=64, max_len=64, dropout=0.0),
}
MusicTransformerConfig.PRESETS = PRESETS  # the model type's presets (`music train --preset`)


def skew(qer: torch.Tensor) -> torch.Tensor:
    """``[..., T, T]`` with column ``m`` = distance ``m - (T-1)`` -> ``[..., i, j]`` = distance
    ``j - i`` (entries above the diagonal are junk and must be masked)."""
    *lead, T, _ = qer.shape
    padded = F.pad(qer, (1, 0))  # [..., T, T+1]
    return padded.reshape(*lead, T + 1, T)[..., 1:, :]


def relative_logits_naive(q: torch.Tensor, er: torch.Tensor) -> torch.Tensor:
    """Reference: ``out[b, h, i, j] = q[b, h, i] . er[h, (T-1) + j - i]`` for j <= i, else 0."""
    B, H, T, D = q.shape
    out = torch.zeros(B, H, T, T, dtype=q.dtype, device=q.device)
    for i in range(T):
        for j in range(i + 1):
            out[:, :, i, j] = (q[:, :, i] * er[:, T - 1 + j - i]).sum(-1)
    return out


class Attention(nn.Module):
    def __init__(self, cfg: MusicTransformerConfig):
        super().__init__()
        self.n_head, self.head_dim = cfg.n_head, cfg.n_embd // cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.dropout = cfg.dropout
        self.relative = cfg.position == "relative"
        self.max_len = cfg.max_len
        if self.relative:
            # Er[h, m]: embedding of distance m - (max_len - 1), i.e. -(max_len-1) .. 0
            self.er = nn.Parameter(torch.randn(cfg.n_head, cfg.max_len, self.head_dim) * 0.02)

    def _split(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        return [t.view(B, T, self.n_head, self.head_dim).transpose(1, 2) for t in (q, k, v)]

    def forward(self, x, rope=None, kv=None):
        """``kv`` is None (whole sequence, causal) or ``(K, V, slots, mask, rel_idx)``: this
        layer's ring buffers, the slots of the new tokens, the additive mask ``[T, M]`` and the
        index of each (query, slot) pair's relative distance into ``er``."""
        B, T, C = x.shape
        q, k, v = self._split(x)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        scale = 1.0 / math.sqrt(self.head_dim)
        drop = self.dropout if self.training else 0.0
        if kv is None:
            if T > self.max_len:
                raise ValueError(f"sequence of {T} tokens is longer than max_len {self.max_len}")
            if self.relative:
                er = self.er[:, self.max_len - T:].to(q.dtype)  # [H, T, D]
                srel = skew(torch.matmul(q, er.transpose(-2, -1)))  # [B, H, T, T]
                causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
                bias = (srel * scale).masked_fill(~causal, float("-inf"))
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=drop)
            else:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop)
            new_kv = (k, v)
        else:
            K, V, slots, mask, rel_idx, n = kv
            K.index_copy_(2, slots, k.to(K.dtype))
            V.index_copy_(2, slots, v.to(V.dtype))
            K, V = K[:, :, :n], V[:, :, :n]  # n < M: the slots filled so far (eager only)
            bias = mask.to(K.dtype)
            if self.relative:
                qer = torch.matmul(q, self.er.to(q.dtype).transpose(-2, -1))  # [B, H, T, M]
                rel = torch.gather(qer, -1, rel_idx.expand(B, self.n_head, *rel_idx.shape))
                bias = (rel * scale).to(K.dtype) + bias
            if x.device.type == "cpu" and T == 1:  # plain math beats the fused CPU kernel here
                att = (torch.matmul(q.to(K.dtype), K.transpose(-2, -1)) * scale + bias).softmax(-1)
                y = torch.matmul(att, V)
            else:
                y = F.scaled_dot_product_attention(q.to(K.dtype), K, V, attn_mask=bias)
            new_kv = None
        y = y.transpose(1, 2).reshape(B, T, C).to(x.dtype)
        return self.proj(y), new_kv


class Block(nn.Module):
    def __init__(self, cfg: MusicTransformerConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = Attention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(nn.Linear(cfg.n_embd, cfg.d_ff), nn.GELU(approximate="tanh"),
                                 nn.Linear(cfg.d_ff, cfg.n_embd), nn.Dropout(cfg.dropout))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, rope=None, kv=None):
        a, kv = self.attn(self.ln1(x), rope, kv)
        x = x + self.drop(a)
        return x + self.mlp(self.ln2(x)), kv


class MusicTransformer(nn.Module):
    config_class = MusicTransformerConfig

    def __init__(self, config: MusicTransformerConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.cond = nn.Embedding(config.n_cond, config.n_embd) if config.n_cond else None
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.head.weight = self.wte.weight  # tied
        init_weights(self, config.n_layer, residual=("attn.proj.weight", "mlp.2.weight"))
        self.compile_decode = False  # CUDA: one-token steps as a CUDA graph (see the module's doc)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def onnx_graphs(self) -> dict:
        """The ONNX ``step`` graph (``seqkit export-onnx``; see ``onnx_step.py``)."""
        from .onnx_step import music_graphs

        return music_graphs(self)

    def new_cache(self) -> KVCache:
        """An empty sliding cache of ``max_len`` slots (allocated on the first call that uses it)."""
        return KVCache(self.config.n_layer, self.config.max_len, sliding=True)

    def _embed(self, idx, cond):
        x = self.wte(idx)
        if self.cond is not None and cond is not None:
            x = x + self.cond(cond)[:, None, :]
        return self.drop(x)

    def _rope(self, qpos, dtype):
        c = self.config
        if c.position != "rope":
            return None
        return rope_tables(c.n_embd // c.n_head, positions=qpos, base=c.rope_base, dtype=dtype)

    def _allocate(self, cache: KVCache, batch: int, device) -> None:
        c = self.config
        if self.compile_decode and device.type == "cuda" and cache._pending is None:
            dec = self._decoder(batch, device)  # the static decoder's buffers
            dec.reset()
            cache.k, cache.v, cache.kpos = dec.buffers_()
            cache.decoder = dec
            return
        dtype = self.wte.weight.dtype
        if device.type == "cuda" and torch.is_autocast_enabled("cuda"):
            dtype = torch.get_autocast_dtype("cuda")
        cache.allocate(batch, c.n_head, c.n_embd // c.n_head, device, dtype)

    def forward(self, idx, cond=None, cache: KVCache | None = None):
        B, T = idx.shape
        if cache is not None:
            if T > cache.size:
                raise ValueError(f"{T} new tokens do not fit a cache of {cache.size}")
            if not cache.allocated:
                self._allocate(cache, B, idx.device)
            decoder = getattr(cache, "decoder", None)
            if decoder is not None and T == 1:  # the captured one-token step
                torch.compiler.cudagraph_mark_step_begin()
                logits = decoder.compiled(idx.clone(), torch.tensor([cache.pos], device=idx.device))
            else:
                qpos = torch.arange(cache.pos, cache.pos + T, device=idx.device)
                logits = self.step(idx, qpos, cache.k, cache.v, cache.kpos, cond,
                                   n_slots=min(cache.pos + T, cache.size))
            cache.pos += T
            return logits, cache
        if T > self.config.max_len:  # a user setting (--seq-len), so one clear line, not a traceback
            from seqkit import SeqkitError

            raise SeqkitError(f"a window of {T} tokens is longer than the model's context (max_len "
                              f"{self.config.max_len}): use --seq-len {self.config.max_len} or less")
        x = self._embed(idx, cond)
        rope = self._rope(torch.arange(T, device=idx.device), x.dtype)
        kvs = []
        for block in self.blocks:
            x, kv = block(x, rope)
            kvs.append(kv)
        logits = self.head(self.ln_f(x))
        if not self.training:  # a cache to continue from, filled only if it is used
            cache = self.new_cache()
            cache.continue_from(kvs, T)
        return logits, cache

    def step(self, idx, qpos, ks, vs, kpos, cond=None, n_slots: int | None = None):
        """Logits of new tokens at absolute positions ``qpos`` [T], reading and updating the ring
        buffers ``ks``/``vs`` (per layer, ``[B, H, M, D]``) and ``kpos`` [M] in place. Plain tensor
        code with static shapes for a fixed T: ``torch.compile``/CUDA-graph friendly."""
        M = kpos.shape[0]
        n = n_slots or M
        slots, mask, dist = ring_window(kpos, qpos, n)  # dist: key minus query position, [T, n]
        rel_idx = (dist + M - 1).clamp(0, M - 1)
        x = self._embed(idx, cond)
        rope = self._rope(qpos, x.dtype)
        for i, block in enumerate(self.blocks):
            x, _ = block(x, rope, (ks[i], vs[i], slots, mask, rel_idx, n))
        return self.head(self.ln_f(x))

    def _decoder(self, batch: int, device):
        decoders = self.__dict__.setdefault("_decoders", {})
        key = (batch, str(device), self.wte.weight.dtype)
        if key not in decoders:
            dec = StaticDecoder(self, batch, device)
            dec.compiled = torch.compile(dec, mode="reduce-overhead", fullgraph=True)
            decoders[key] = dec
        return decoders[key]


class StaticDecoder(nn.Module):
    """Ring buffers as module buffers (static addresses, so CUDA graphs can capture the step)."""

    def __init__(self, model: MusicTransformer, batch: int, device):
        super().__init__()
        c = model.config
        self.model = model
        shape = (batch, c.n_head, c.max_len, c.n_embd // c.n_head)
        dtype = model.wte.weight.dtype
        for i in range(c.n_layer):
            self.register_buffer(f"k{i}", torch.zeros(shape, device=device, dtype=dtype))
            self.register_buffer(f"v{i}", torch.zeros(shape, device=device, dtype=dtype))
        self.register_buffer("kpos", torch.full((c.max_len,), -1, dtype=torch.long, device=device))
        self.n_layer = c.n_layer

    def buffers_(self):
        return ([getattr(self, f"k{i}") for i in range(self.n_layer)],
                [getattr(self, f"v{i}") for i in range(self.n_layer)], self.kpos)

    def reset(self):
        self.kpos.fill_(-1)

    def forward(self, idx, pos):
        ks, vs, kpos = self.buffers_()
        return self.model.step(idx, pos, ks, vs, kpos)
