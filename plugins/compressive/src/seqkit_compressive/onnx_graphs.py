"""The compressive Transformer's ONNX graphs (torch only; ``seqkit export-onnx`` calls them through
``CompressiveTransformer.onnx_graphs``). ``onnx_runner.py`` runs them without torch.

Three graphs, the decoding of ``decoding.py`` with its buffers passed in and out:

* ``step``: ``T`` tokens at slots ``t .. t + T - 1`` of the current segment (a primer's segment in
  one call, then one token a call). ``logits, k_out_i, v_out_i, x_out_i = step(idx [B, T], cond [B],
  pos [T], causal [T, T], mask_i [P + S], k_i [B, H, D, P + S], v_i [B, H, P + S, D])``, one input
  of each kind per layer ``i``: it reads every layer's keys (transposed) and values (``P =
  cmem_len + mem_len`` memory slots, right-aligned, then the segment's ``S = seg_len``) and gives
  the new tokens' keys, values ``[B, H, T, D]`` and layer inputs ``[B, T, C]``, which the runner
  writes into its buffers in place; ``mask_i`` is 0 where a slot holds a key, ``-inf`` elsewhere
  (every memory slot of a layer without memories). Exported with ONNX Runtime's extended fusions
  (``"optimize": "extended"``) and int8 MLPs and attention projections (``QUANTIZE``).
* ``memory_kv``: a segment's end. The keys/values ``[L, B, H, N, D]`` of the memories
  ``[cmem; mem]`` ``[L, B, N, C]`` at positions ``pos [N]``.
* ``compress``: what falls out of the memories, ``[L, B, n, C]`` -> ``[L, B, n / ratio, C]`` (only
  when the model has compressed memories).

The runner does the memories' bookkeeping (what falls out, what is kept) in numpy, as
``CompressiveTransformer._remember`` does in torch.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from seqkit import GraphSpec, apply_rope

# dynamic int8 weights (per channel) for the step graph's MLPs and attention output projections
# (``QUANTIZE_ONLY``: node names), where they cost little: MAESTRO validation +0.005 nats/token and
# a faster step; int8 on every weight matrix cost +0.009 to +0.017 (docs/compressive.md). The
# queries, keys and values (and the memories' keys/values, ``memory_kv``) stay float32. None: float32.
QUANTIZE: str | None = "int8"
QUANTIZE_ONLY = ["/mlp/", "/proj"]
RUNNER = "seqkit_compressive.onnx_runner:OnnxCompressive"


class Step(nn.Module):
    """``T`` tokens at slots ``t .. t + T - 1`` of the segment (the runner never crosses a segment's
    end in one call): the buffers are read, never written (the runner stores the new tokens' keys,
    values and layer inputs in place), so a step moves no buffer but reads it once.

    Written for few operators a step (each costs a few microseconds on ONNX Runtime, and the
    model is small): every layer's buffers are inputs of their own (no slice of a stacked tensor
    copied out), keys stored transposed ``[B, H, D, P + S]`` (the scores are one matmul), the
    rotary tables gathered once for all layers from constants (``pos``: the new tokens' positions
    ``P + t ..``) with the attention's scale folded into the queries' table, the pair swap of the
    rotation one matmul with a fixed ``[D, D]`` permutation, and the masks from the runner
    (``mask_i [P + S]``: 0 on a slot that holds a key; ``causal [T, T]``)."""

    def __init__(self, model):
        super().__init__()
        self.m = model
        c = model.config
        D = c.n_embd // c.n_head
        cos, sin = model.rope("cpu")  # [P + S, D]
        scale = 1.0 / math.sqrt(D)
        # [2, 1, P + S, D]: [0] the queries' (times the scale), [1] the keys'
        self.register_buffer("cos", torch.stack([cos * scale, cos])[:, None], persistent=False)
        self.register_buffer("sin", torch.stack([sin * scale, sin])[:, None], persistent=False)
        swap = torch.zeros(D, D)
        idx = torch.arange(D)
        swap[idx ^ 1, idx] = 1.0  # (x @ swap)[..., j] = x[..., j ^ 1]
        self.register_buffer("swap", swap, persistent=False)

    def forward(self, idx, cond, pos, causal, *bufs):
        m, c = self.m, self.m.config
        B, T = idx.shape
        L, H, C = c.n_layer, c.n_head, c.n_embd
        D = C // H
        masks, kbufs, vbufs = bufs[:L], bufs[L:2 * L], bufs[2 * L:]
        S = masks[0].size(0)
        cos = self.cos.index_select(2, pos)  # [2, 1, T, D]
        sin = self.sin.index_select(2, pos)
        x = m._embed(idx, cond if m.cond is not None else None)
        ks, vs, xs = [], [], []
        for i, block in enumerate(m.blocks):
            a = block.attn
            xs.append(x)
            qkv = a.qkv(block.ln1(x)).view(B, T, 3, H, D).permute(0, 2, 3, 1, 4)  # [B, 3, H, T, D]
            qk, v = qkv[:, :2], qkv[:, 2]
            qk = qk * cos + (qk @ self.swap) * sin  # rotated; the queries scaled
            q, k = qk[:, 0], qk[:, 1]
            ks.append(k)
            vs.append(v)
            old = q @ kbufs[i] + masks[i]  # [B, H, T, S]
            new = q @ k.transpose(-1, -2) + causal  # [B, H, T, T]
            att = torch.cat([old, new], dim=-1).softmax(-1)
            y = att[..., :S] @ vbufs[i] + att[..., S:] @ v
            x = x + a.proj(y.transpose(1, 2).reshape(B, T, C))
            x = x + block.mlp(block.ln2(x))
        return (m.head(m.ln_f(x)), *ks, *vs, *xs)


class MemoryKV(nn.Module):
    """``Block.memory_kv`` of every layer, with the key/value rows of ``qkv`` as weights of their
    own (a slice of the whole ``qkv`` weight would keep all of it in the graph, unquantized)."""

    def __init__(self, model):
        super().__init__()
        self.m = model
        C = model.config.n_embd
        self.kv = nn.ModuleList()
        for block in model.blocks:
            qkv = block.attn.qkv
            lin = nn.Linear(C, 2 * C, bias=qkv.bias is not None)
            with torch.no_grad():
                lin.weight.copy_(qkv.weight[C:])
                if qkv.bias is not None:
                    lin.bias.copy_(qkv.bias[C:])
            self.kv.append(lin)

    def forward(self, mem, pos):
        cos, sin = self.m.rope(mem.device)
        cos, sin = cos.index_select(0, pos), sin.index_select(0, pos)
        ks, vs = [], []
        for i, block in enumerate(self.m.blocks):
            k, v = self.kv[i](block.ln1(mem[i])).split(mem.size(-1), dim=2)
            ks.append(apply_rope(block.attn.heads(k), cos, sin))
            vs.append(block.attn.heads(v))
        return torch.stack(ks), torch.stack(vs)


class Compress(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, old):
        c = self.m.config
        out = []
        for i, block in enumerate(self.m.blocks):
            if block.compress is not None:
                out.append(block.compress(old[i]))
            else:  # a layer without compressed memories: its rows are never read
                out.append(old[i][:, : old.size(2) // c.cmem_ratio] * 0)
        return torch.stack(out)


def compressive_graphs(model) -> dict[str, GraphSpec]:
    c = model.config
    L, H, C, S, P = c.n_layer, c.n_head, c.n_embd, c.seg_len, model.offset
    D = C // H
    meta = {"kind": "compressive", "runner": RUNNER, "offset": P, "vocab_size": c.vocab_size}
    T = 3
    causal = torch.zeros(T, T).masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    mask = torch.zeros(P + S)
    mask[P + 2:] = float("-inf")  # two tokens of the segment written before these three
    bufs = [f"mask_{i}" for i in range(L)] + [f"k_{i}" for i in range(L)] + [f"v_{i}" for i in range(L)]
    outs = [f"{n}_out_{i}" for n in "kvx" for i in range(L)]
    axes = {"idx": {0: "B", 1: "T"}, "cond": {0: "B"}, "pos": {0: "T"}, "causal": {0: "T", 1: "T"},
            "logits": {0: "B", 1: "T"}}
    axes.update({f"k_{i}": {0: "B"} for i in range(L)})
    axes.update({f"v_{i}": {0: "B"} for i in range(L)})
    axes.update({f"{n}_out_{i}": {0: "B", 2 if n != "x" else 1: "T"} for n in "kvx" for i in range(L)})
    step = GraphSpec(Step(model), (torch.ones(2, T, dtype=torch.long), torch.zeros(2, dtype=torch.long),
                                   torch.arange(P + 2, P + 2 + T), causal, *(mask for _ in range(L)),
                                   *(torch.randn(2, H, D, P + S) for _ in range(L)),
                                   *(torch.randn(2, H, P + S, D) for _ in range(L))),
                     ["idx", "cond", "pos", "causal", *bufs], ["logits", *outs], axes,
                     {**meta, "optimize": "extended"})
    if QUANTIZE:
        step.meta.update(quantize=QUANTIZE, quantize_only=QUANTIZE_ONLY)
    graphs = {"step": step}
    if P == 0:  # no memories: the step graph is the model
        return graphs
    n_mem = min(P, 8)
    memkv = GraphSpec(MemoryKV(model), (torch.randn(L, 2, n_mem, C), torch.arange(P - n_mem, P)), ["mem", "pos"],
                      ["k", "v"], {"mem": {1: "B", 2: "N"}, "pos": {0: "N"}, "k": {1: "B", 3: "N"},
                                   "v": {1: "B", 3: "N"}}, dict(meta))
    graphs["memory_kv"] = memkv
    if c.cmem_len and any(b.compress is not None for b in model.blocks):
        n_old = 2 * c.cmem_ratio
        graphs["compress"] = GraphSpec(Compress(model), (torch.randn(L, 2, n_old, C),), ["old"], ["compressed"],
                                       {"old": {1: "B", 2: "n"}, "compressed": {1: "B", 2: "m"}}, dict(meta))
    if QUANTIZE:  # the memories' keys/values and their compression stay float32 when the step is int8
        for part in ("memory_kv", "compress"):
            if part in graphs:
                graphs[part].meta["quantize"] = "fp32"
    return graphs
