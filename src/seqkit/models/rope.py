"""Rotary position embeddings (Su et al. 2021): the one RoPE of seqkit's models.

Channel pairs ``(2i, 2i+1)`` of each head are rotated by ``position * base**(-2i / head_dim)``, so
attention between a query and a key depends on their distance only. ``rope_tables`` gives the
cos/sin tables (half the head size, or, with ``full=True``, the whole head size with the signs
folded in, for the four-kernel form), ``apply_rope`` rotates ``x [..., T, head_dim]`` with either.
Both forms give the same numbers, bit for bit.
"""

from __future__ import annotations

import torch


def rope_tables(head_dim: int, length: int = 0, device=None, base: float = 10000.0, offset: int = 0,
                positions: torch.Tensor | None = None, full: bool = False, dtype=None):
    """cos/sin tables ``[T, head_dim // 2]`` for positions ``offset .. offset + length - 1`` (or the
    ``positions`` tensor given, e.g. absolute positions past a model's context). ``full=True``:
    ``[T, head_dim]`` tables for ``x * cos + swap_pairs(x) * sin``. ``dtype``: cast to it."""
    if positions is not None:
        device = positions.device
        t = positions.float()
    else:
        t = torch.arange(offset, offset + length, device=device, dtype=torch.float32)
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim))
    freqs = t[:, None] * inv[None, :]
    cos, sin = freqs.cos(), freqs.sin()
    if full:
        cos = cos.repeat_interleave(2, dim=-1)
        sin = torch.stack([-sin, sin], dim=-1).flatten(-2)  # even channels get -sin, odd +sin
    if dtype is not None:
        cos, sin = cos.to(dtype), sin.to(dtype)
    return cos, sin


def apply_rope(x, cos, sin):
    """Rotate pairs of channels of ``x`` ``[..., T, D]`` by the tables' angles (half or full size)."""
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    if cos.size(-1) == x.size(-1):  # full tables: four kernels, no strided slices to scatter back
        return x * cos + x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2) * sin
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)
