"""Decoder-only Transformer LM with fused attention and a KV cache.

Pre-norm blocks (LayerNorm, causal self-attention through ``F.scaled_dot_product_attention``, a
GELU MLP), learned or rotary positions, optional class conditioning (an embedding added to every
position), tied input/output embeddings.

``logits, cache = model(idx, cond=None, cache=None)``: without a cache ``idx`` is the whole
sequence; with one, only the new tokens. The cache is a ``KVCache`` (one key/value tensor pair per
layer) that grows by the new tokens on each call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class TransformerConfig:
    vocab_size: int
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    d_ff: int = 0  # 0 = 4 * n_embd
    max_len: int = 512
    dropout: float = 0.0
    n_cond: int = 0
    position: str = "learned"  # learned | rope
    bias: bool = False

    def __post_init__(self):
        from .settings import check_sizes

        check_sizes(self, "vocab_size", "n_layer", "n_head", "n_embd", "max_len")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.position not in ("learned", "rope"):
            raise ValueError(f"position must be learned or rope, not {self.position!r}")


class KVCache:
    """Keys and values of every layer so far: lists of ``[B, H, T, D]`` tensors."""

    def __init__(self, n_layer: int):
        self.k: list = [None] * n_layer
        self.v: list = [None] * n_layer

    @property
    def length(self) -> int:
        return 0 if self.k[0] is None else self.k[0].size(2)

    def layer_length(self, layer: int) -> int:
        return 0 if self.k[layer] is None else self.k[layer].size(2)

    def update(self, layer: int, k, v):
        if self.k[layer] is not None:
            k = torch.cat([self.k[layer], k], dim=2)
            v = torch.cat([self.v[layer], v], dim=2)
        self.k[layer], self.v[layer] = k, v
        return k, v

    def crop(self, keep: int) -> None:
        """Keep only the last ``keep`` positions (positions must then be recomputed: see generate)."""
        self.k = [k[:, :, -keep:] for k in self.k]
        self.v = [v[:, :, -keep:] for v in self.v]


def rope_tables(head_dim: int, length: int, device, base: float = 10000.0, offset: int = 0):
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim))
    t = torch.arange(offset, offset + length, device=device, dtype=torch.float32)
    freqs = torch.outer(t, inv)
    return freqs.cos(), freqs.sin()


def apply_rope(x, cos, sin):
    """Rotate pairs of channels of ``x`` ``[B, H, T, D]`` by position-dependent angles."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2)


class CausalSelfAttention(nn.Module):
    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.n_head = c.n_head
        self.qkv = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
        self.proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias)
        self.dropout = c.dropout
        self.resid_drop = nn.Dropout(c.dropout)

    def forward(self, x, rope=None, cache: KVCache | None = None, layer: int = 0):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        past = 0
        if cache is not None:
            past = cache.layer_length(layer)
            k, v = cache.update(layer, k, v)
        p = self.dropout if self.training else 0.0
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        elif T == 1:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        else:  # new tokens see all the past and the causal part of themselves
            mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_drop(self.proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd: int, d_ff: int, dropout: float = 0.0, bias: bool = False):
        super().__init__()
        self.fc = nn.Linear(n_embd, d_ff, bias=bias)
        self.proj = nn.Linear(d_ff, n_embd, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.attn = CausalSelfAttention(c)
        self.ln2 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.mlp = MLP(c.n_embd, c.d_ff or 4 * c.n_embd, c.dropout, c.bias)

    def forward(self, x, rope=None, cache=None, layer=0):
        x = x + self.attn(self.ln1(x), rope, cache, layer)
        return x + self.mlp(self.ln2(x))


class TransformerLM(nn.Module):
    config_class = TransformerConfig

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = c = config
        self.tok = nn.Embedding(c.vocab_size, c.n_embd)
        self.pos = nn.Embedding(c.max_len, c.n_embd) if c.position == "learned" else None
        self.cond = nn.Embedding(c.n_cond, c.n_embd) if c.n_cond else None
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.head.weight = self.tok.weight  # weight tying
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, idx, cond=None, cache: KVCache | None = None):
        B, T = idx.shape
        c = self.config
        past = cache.length if cache is not None else 0
        if past + T > c.max_len:
            raise ValueError(f"sequence of {past + T} tokens exceeds max_len {c.max_len}")
        x = self.tok(idx)
        rope = None
        if self.pos is not None:
            x = x + self.pos(torch.arange(past, past + T, device=idx.device))
        else:
            rope = rope_tables(c.n_embd // c.n_head, T, idx.device, offset=past)
        if self.cond is not None:
            if cond is None:
                raise ValueError("this model is conditional: pass cond")
            x = x + self.cond(cond)[:, None, :]
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, rope, cache, i)
        return self.head(self.ln_f(x)), cache

    def new_cache(self) -> KVCache:
        return KVCache(self.config.n_layer)
