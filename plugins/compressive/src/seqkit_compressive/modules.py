"""The compressive Transformer's layers: attention that also reads memories, the compression
function and the block (core's RoPE, in its full-table form, and core's MLP)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from seqkit import MLP, apply_rope

from .config import CompressiveConfig


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
        q, k = apply_rope(qk, cos, sin).split(H, dim=1)  # queries and keys rotated together
        return q, k, v

    def memory_kv(self, h, cos, sin):
        """Keys and values of normalised memories ``h`` ``[B, N, C]`` at their positions."""
        C = h.size(-1)
        w = self.qkv.weight[C:]
        b = self.qkv.bias[C:] if self.qkv.bias is not None else None
        k, v = F.linear(h, w, b).split(C, dim=2)
        return apply_rope(self.heads(k), cos, sin), self.heads(v)

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
    from torch.nn.attention.bias import causal_lower_right  # here: importing it imports torch._dynamo (1 s)

    return causal_lower_right(T, S)


class Compression(nn.Module):
    """``[B, N, C] -> [B, N / ratio, C]``: strided convolution (starts as mean pooling) or pooling."""

    def __init__(self, c: CompressiveConfig):
        super().__init__()
        self.kind, self.ratio = c.compression, c.cmem_ratio
        if self.kind == "conv":
            self.conv = nn.Conv1d(c.n_embd, c.n_embd, c.cmem_ratio, stride=c.cmem_ratio)

    def reset_parameters(self):
        if self.kind == "conv" and not self.conv.weight.is_meta:  # (torch.eye on meta imports torch._dynamo)
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
