"""The Music Transformer's ONNX graph (torch only; ``seqkit export-onnx`` calls it through
``MusicTransformer.onnx_graphs``).

One ``step`` graph, as core's ``transformer-lm`` has: ``logits, state_out_0, state_out_1 =
step(idx [B, T], cond [B], state_0, state_1)`` where the states are every layer's rotated keys and
values ``[L, B, H, past, D]`` (``past = 0`` at the start). The same graph reads a primer (``T``
tokens) and then one token per call, so sampling costs one token's work per step; core's
``OnnxLM`` and ``generate_numpy`` run it (and slide past ``max_len`` as torch's ``KVCache`` does,
turning the kept keys back one position). Attention is written out (one matmul for the scores,
softmax, one matmul for the values), the three projections stay one fused ``qkv`` matmul.

Rotary positions only: relative attention (``position="relative"``) has no graph here, and such a
checkpoint runs on torch.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from seqkit import SeqkitError, apply_rope, lm_graph, rope_tables

# dynamic int8 weights (per channel): on the shipped model MAESTRO validation NLL +0.0009 nats/token,
# faster decoding and half the file of float16 storage (docs/music.md); None keeps float32
QUANTIZE: str | None = "int8"


class MusicStep(nn.Module):
    """One call of a RoPE ``MusicTransformer`` with its keys/values passed in and out."""

    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, idx, cond, past_k, past_v):
        m, c = self.m, self.m.config
        B, T = idx.shape
        H, D = c.n_head, c.n_embd // c.n_head
        past = past_k.size(3)
        x = m.wte(idx)
        if m.cond is not None:
            x = x + m.cond(cond)[:, None, :]
        positions = torch.arange(T, device=idx.device) + past
        cos, sin = rope_tables(D, positions=positions, base=c.rope_base)
        rows = torch.arange(T, device=idx.device)[:, None] + past
        cols = torch.arange(past + T, device=idx.device)[None, :]
        mask = torch.zeros(T, past + T).masked_fill(cols > rows, float("-inf"))
        ks, vs = [], []
        for i, block in enumerate(m.blocks):
            a = block.attn
            q, k, v = a.qkv(block.ln1(x)).view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            k = torch.cat([past_k[i], k], dim=2)
            v = torch.cat([past_v[i], v], dim=2)
            ks.append(k)
            vs.append(v)
            att = ((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D)) + mask).softmax(-1)
            x = x + a.proj((att @ v).transpose(1, 2).reshape(B, T, H * D))
            x = x + block.mlp(block.ln2(x))
        return m.head(m.ln_f(x)), torch.stack(ks), torch.stack(vs)


def music_graphs(model) -> dict:
    """``{"step": GraphSpec}`` of a RoPE Music Transformer; relative attention: one clear error."""
    c = model.config
    if c.position != "rope":
        raise SeqkitError("a Music Transformer with relative attention has no ONNX graph (only rotary "
                          "positions export); it runs on torch")
    H, D = c.n_head, c.n_embd // c.n_head
    shape = [c.n_layer, "B", H, 0, D]
    state = tuple(torch.zeros(c.n_layer, 2, H, 0, D) for _ in range(2))
    graphs = lm_graph(MusicStep(model), c, state, [shape, shape], {1: "B", 3: "past"})
    if QUANTIZE:
        graphs["step"].meta["quantize"] = QUANTIZE
    graphs["step"].dynamic_axes.update({"state_out_0": {1: "B", 3: "total"}, "state_out_1": {1: "B", 3: "total"}})
    return graphs
