"""The compressive Transformer's ONNX graphs (torch only; ``seqkit export-onnx`` calls them through
``CompressiveTransformer.onnx_graphs``). ``onnx_runner.py`` runs them without torch.

Three graphs, the decoding of ``decoding.py`` with its buffers passed in and out:

* ``step``: one token at slot ``t`` of the current segment. ``logits, k, v, x = step(idx [B, 1],
  cond [B], t [1], mem_mask [L, P], kbuf, vbuf)``: it reads every layer's keys/values
  ``[L, B, H, P + S, D]`` (``P = cmem_len + mem_len`` memory slots, right-aligned, then the
  segment's ``S = seg_len``; slots ``P + t`` and later are masked) and gives the new token's keys,
  values ``[L, B, H, 1, D]`` and layer inputs ``[L, B, 1, C]``, which the runner writes into its
  buffers in place; ``mem_mask`` is 0 where a memory slot holds a key, ``-inf`` elsewhere (and on
  every slot of a layer without memories).
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

# dynamic int8 weights (per channel) for the step and memory_kv graphs, "int8", did not measure as
# well on the shipped model (MAESTRO validation +0.017 nats/token, over the 0.01 allowed;
# docs/compressive.md): its graphs stay float32 (stored as float16, as its weights are)
QUANTIZE: str | None = None
RUNNER = "seqkit_compressive.onnx_runner:OnnxCompressive"


class Step(nn.Module):
    """One token at slot ``t``: the buffers are read, never written (the runner stores the new
    token's key, value and layer inputs in place), so a step moves no buffer but reads it once."""

    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, idx, cond, t, mem_mask, kbuf, vbuf):
        m, c = self.m, self.m.config
        P, S = m.offset, c.seg_len
        D = c.n_embd // c.n_head
        cos, sin = m.rope(idx.device)
        pos = t + P
        cos, sin = cos.index_select(0, pos), sin.index_select(0, pos)
        seg = torch.arange(S, device=idx.device)
        seg_mask = torch.zeros(S).masked_fill(seg >= t, float("-inf"))  # the slots before t
        x = m._embed(idx, cond if m.cond is not None else None)
        ks, vs, xs = [], [], []
        for i, block in enumerate(m.blocks):
            xs.append(x)
            q, k, v = block.attn.qkv_heads(block.ln1(x), cos, sin)
            ks.append(k)
            vs.append(v)
            mask = torch.cat([mem_mask[i], seg_mask])
            scores = torch.cat([q @ kbuf[i].transpose(-1, -2) + mask, q @ k.transpose(-1, -2)], dim=-1)
            att = (scores * (1.0 / math.sqrt(D))).softmax(-1)
            y = att[..., :-1] @ vbuf[i] + att[..., -1:] * v
            x = x + block.attn.out(y)
            x = x + block.mlp(block.ln2(x))
        return m.head(m.ln_f(x)), torch.stack(ks), torch.stack(vs), torch.stack(xs)


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
    kbuf = torch.randn(L, 2, H, P + S, D)
    mem_mask = torch.zeros(L, P)
    b, b_ax = {1: "B"}, {0: "B"}
    step = GraphSpec(Step(model), (torch.ones(2, 1, dtype=torch.long), torch.zeros(2, dtype=torch.long),
                                   torch.tensor([3]), mem_mask, kbuf, torch.randn_like(kbuf)),
                     ["idx", "cond", "t", "mem_mask", "kbuf", "vbuf"], ["logits", "k", "v", "x"],
                     {"idx": b_ax, "cond": b_ax, "kbuf": b, "vbuf": b, "logits": b_ax, "k": b, "v": b, "x": b},
                     dict(meta))
    graphs = {"step": step}
    if P == 0:  # no memories: the step graph is the model
        return graphs
    n_mem = min(P, 8)
    memkv = GraphSpec(MemoryKV(model), (torch.randn(L, 2, n_mem, C), torch.arange(P - n_mem, P)), ["mem", "pos"],
                      ["k", "v"], {"mem": {1: "B", 2: "N"}, "pos": {0: "N"}, "k": {1: "B", 3: "N"},
                                   "v": {1: "B", 3: "N"}}, dict(meta))
    graphs["memory_kv"] = memkv
    if QUANTIZE:
        step.meta["quantize"] = memkv.meta["quantize"] = QUANTIZE
    if c.cmem_len and any(b.compress is not None for b in model.blocks):
        n_old = 2 * c.cmem_ratio
        graphs["compress"] = GraphSpec(Compress(model), (torch.randn(L, 2, n_old, C),), ["old"], ["compressed"],
                                       {"old": {1: "B", 2: "n"}, "compressed": {1: "B", 2: "m"}}, dict(meta))
    return graphs
