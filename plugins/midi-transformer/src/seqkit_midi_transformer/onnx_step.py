"""The Music Transformer's ONNX graph (torch only; ``seqkit export-onnx`` calls it through
``MusicTransformer.onnx_graphs``).

One ``step`` graph (``MusicBufferStep``): ``logits, k, v = step(idx [B, T], cond [B], cos, sin,
buf_mask, k_0.., v_0..)``. It reads every layer's key/value buffers and returns only the new tokens'
keys/values; ``onnx_runner.OnnxMusic`` (named in the graph's ``"runner"`` metadata) keeps the
buffers, writes the new entries in place and slides past ``max_len`` as torch's ``KVCache`` does. A
step moves no cache: at 1,900 tokens of context it costs what it costs at 256 plus reading the
keys/values once (benchmarks/music_onnx.py, docs/music.md). The same graph reads a primer (``T``
tokens) in one call. Attention is written out (one matmul for the scores over the buffer, one over
the new tokens, one softmax over both, two matmuls for the values); the three projections stay one
fused ``qkv`` matmul.

``MusicStep`` is the former graph (every layer's cache ``[L, B, H, past, D]`` in, the grown cache
out: two copies of the cache a step); graphs made with it still run (core's ``OnnxLM``), and the
benchmark measures it against the buffers.

Rotary positions only: relative attention (``position="relative"``) has no graph here, and such a
checkpoint runs on torch.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from seqkit import GraphSpec, SeqkitError, apply_rope, rope_tables

# dynamic int8 weights (per channel): on the shipped model MAESTRO validation NLL +0.0009 nats/token,
# faster decoding and half the file of float16 storage (docs/music.md); None keeps float32
QUANTIZE: str | None = "int8"
RUNNER = "seqkit_midi_transformer.onnx_runner:OnnxMusic"


class MusicStep(nn.Module):
    """One call of a RoPE ``MusicTransformer`` with its keys/values passed in and out (the former
    graph; the benchmark's baseline)."""

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


class MusicBufferStep(nn.Module):
    """One call of a RoPE ``MusicTransformer`` over key/value buffers that it reads and never
    returns: ``logits, k, v = step(idx [B, T], cond [B], cos, sin [T, 2, 1, D], buf_mask [S], k_0 ..
    k_{L-1} [B, H, D, S], v_0 .. v_{L-1} [B, H, S, D])``. ``cos``/``sin``: the full rotary tables of
    the new tokens' positions, ``[:, 0]`` for the queries (times ``1 / sqrt(D)``, the attention's
    scale) and ``[:, 1]`` for the keys, so one rotation serves both; ``buf_mask``: 0 where a buffer
    slot holds an earlier token's key, ``-inf`` elsewhere; the keys are stored transposed (``[D,
    S]``: the scores are one matmul, no transpose of the buffer). It gives the new tokens' rotated
    keys and values ``[L, B, H, T, D]`` only, which ``onnx_runner.OnnxMusic`` writes into its buffers
    in place. Each layer's buffer is an input of its own, so no layer's slice is copied out of a
    stacked tensor."""

    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, idx, cond, cos, sin, buf_mask, *bufs):
        m, c = self.m, self.m.config
        B, T = idx.shape
        L, H, D = c.n_layer, c.n_head, c.n_embd // c.n_head
        kbufs, vbufs = bufs[:L], bufs[L:]
        S = buf_mask.size(0)
        x = m.wte(idx)
        if m.cond is not None:
            x = x + m.cond(cond)[:, None, :]
        rows = torch.arange(T, device=idx.device)[:, None]
        cols = torch.arange(T, device=idx.device)[None, :]
        mask = torch.zeros(T, T).masked_fill(cols > rows, float("-inf"))
        ks, vs = [], []
        for i, block in enumerate(m.blocks):
            a = block.attn
            qkv = a.qkv(block.ln1(x)).view(B, T, 3, H, D)
            qk, v = qkv[:, :, :2], qkv[:, :, 2].transpose(1, 2)  # [B, T, 2, H, D], [B, H, T, D]
            qk = apply_rope(qk, cos, sin).permute(2, 0, 3, 1, 4)  # [2, B, H, T, D], q scaled
            q, k = qk[0], qk[1]
            ks.append(k)
            vs.append(v)
            old = q @ kbufs[i] + buf_mask  # [B, H, T, S]
            new = q @ k.transpose(-1, -2) + mask  # [B, H, T, T]
            att = torch.cat([old, new], dim=-1).softmax(-1)
            y = att[..., :S] @ vbufs[i] + att[..., S:] @ v
            x = x + a.proj(y.transpose(1, 2).reshape(B, T, H * D))
            x = x + block.mlp(block.ln2(x))
        return m.head(m.ln_f(x)), torch.stack(ks), torch.stack(vs)


def step_tables(cos, sin, D: int):
    """``[T, D]`` full rotary tables -> the step graph's ``[T, 2, 1, D]`` (queries scaled, keys not)."""
    scale = 1.0 / math.sqrt(D)
    return tuple(torch.stack([t * scale, t], dim=1)[:, :, None] for t in (cos, sin))


def music_graphs(model) -> dict:
    """``{"step": GraphSpec}`` of a RoPE Music Transformer; relative attention: one clear error."""
    c = model.config
    if c.position != "rope":
        raise SeqkitError("a Music Transformer with relative attention has no ONNX graph (only rotary "
                          "positions export); it runs on torch")
    L, H, D = c.n_layer, c.n_head, c.n_embd // c.n_head
    S = 5
    torch.manual_seed(0)
    mask = torch.zeros(S)
    mask[-2:] = float("-inf")  # two empty slots
    inputs = (torch.ones(2, 3, dtype=torch.long), torch.zeros(2, dtype=torch.long),
              *step_tables(*rope_tables(D, 3, offset=S - 2, base=c.rope_base, full=True), D), mask,
              *(torch.randn(2, H, D, S) for _ in range(L)), *(torch.randn(2, H, S, D) for _ in range(L)))
    kv = [f"k_{i}" for i in range(L)] + [f"v_{i}" for i in range(L)]
    axes = {"idx": {0: "B", 1: "T"}, "cond": {0: "B"}, "cos": {0: "T"}, "sin": {0: "T"}, "buf_mask": {0: "S"},
            "logits": {0: "B", 1: "T"}, "k": {1: "B", 3: "T"}, "v": {1: "B", 3: "T"}}
    axes.update({f"k_{i}": {0: "B", 3: "S"} for i in range(L)})
    axes.update({f"v_{i}": {0: "B", 2: "S"} for i in range(L)})
    meta = {"kind": "music-step", "runner": RUNNER, "vocab_size": c.vocab_size, "max_len": c.max_len,
            "conditional": bool(getattr(c, "n_cond", 0))}
    if QUANTIZE:
        meta["quantize"] = QUANTIZE
    step = GraphSpec(MusicBufferStep(model), inputs, ["idx", "cond", "cos", "sin", "buf_mask", *kv],
                     ["logits", "k", "v"], axes, meta)
    return {"step": step}
