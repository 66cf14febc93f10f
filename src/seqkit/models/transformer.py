"""Decoder-only Transformer LM with fused attention and a KV cache.

Pre-norm blocks (LayerNorm, causal self-attention through ``F.scaled_dot_product_attention``, a
GELU MLP), learned or rotary positions, optional class conditioning (an embedding added to every
position), tied input/output embeddings.

``logits, cache = model(idx, cond=None, cache=None)``: without a cache ``idx`` is the whole
sequence; with one, only the new tokens. The cache is a ``KVCache`` (``seqkit.models.cache``): with
rotary positions a ring of ``max_len`` slots (a sliding window: past ``max_len`` a step still costs
one token's work), with learned positions keys that grow to ``max_len`` and then restart on the
last quarter window.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from seqkit.models.cache import KVCache, restart_window
from seqkit.models.init import init_weights
from seqkit.models.rope import apply_rope, rope_tables

__all__ = ["TransformerConfig", "TransformerLM", "Block", "MLP", "KVCache", "rope_tables", "apply_rope",
           "init_weights"]


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
        from seqkit.models.settings import check_sizes

        check_sizes(self, "vocab_size", "n_layer", "n_head", "n_embd", "max_len")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.position not in ("learned", "rope"):
            raise ValueError(f"position must be learned or rope, not {self.position!r}")


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
        if cache is not None and cache.sliding:  # a ring: slots pos % size (never wrapping mid-call)
            past = cache.pos
            if not cache.allocated:
                cache.allocate(B, self.n_head, C // self.n_head, x.device, k.dtype)
            start = past % cache.size
            cache.k[layer][:, :, start:start + T] = k
            cache.v[layer][:, :, start:start + T] = v
            n = min(past + T, cache.size)
            if past + T > cache.size:  # T == 1: the ring holds exactly the last `size` tokens
                past = 0
            k, v = cache.k[layer][:, :, :n], cache.v[layer][:, :, :n]
        elif cache is not None:
            past = cache.layer_length(layer)
            k, v = cache.update(layer, k, v)
        p = self.dropout if self.training else 0.0
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=T > 1)
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
        init_weights(self, c.n_layer)

    def forward(self, idx, cond=None, cache: KVCache | None = None):
        B, T = idx.shape
        c = self.config
        if cache is None and T > c.max_len:
            raise ValueError(f"sequence of {T} tokens exceeds max_len {c.max_len}")
        if cache is not None and cache.pos + T > c.max_len:  # the cache slides past the context
            if T > 1:  # one token at a time
                outs = [self(idx[:, j:j + 1], cond, cache)[0] for j in range(T)]
                return torch.cat(outs, dim=1), cache
            if not cache.sliding:  # learned positions: restart on the last quarter window
                ids = torch.cat([cache.ids, idx], dim=1)[:, -restart_window(c.max_len):]
                cache.reset()
                logits, cache = self(ids, cond, cache)
                return logits[:, -1:], cache
        past = cache.pos if cache is not None else 0
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
        if cache is not None:
            cache.pos += T
            if not cache.sliding:
                cache.ids = idx if cache.ids is None else torch.cat([cache.ids, idx], dim=1)
        return self.head(self.ln_f(x)), cache

    def new_cache(self) -> KVCache:
        """Rotary positions: a sliding window of ``max_len`` tokens; learned ones: a cache that
        restarts on the last quarter window when it is full (see ``seqkit.models.cache``)."""
        return KVCache(self.config.n_layer, self.config.max_len, sliding=self.pos is None)
