"""Step graphs of core's model types, written for ONNX export (torch only; used by ``seqkit.onnx.export``).

Each wrapper shares the model's modules (so the exported weights are the model's) and computes
one call of the model with its cache passed in and out as plain tensors:

* language models (``rnn-lm``, ``transformer-lm``): ``logits, state_out_* = f(idx, [cond], state_*)``
  where ``idx`` holds the new tokens; the recurrent state or the keys/values of every layer
  (``[L, B, H, past, D]``, ``past = 0`` at the start) is the cache.
* seq2seq (``gru-seq2seq``, ``transformer-seq2seq``): an encoder graph
  ``memory_*, [state_*] = enc(src)`` (rows of one length, no padding) and a decoder step
  ``logits, state_out_* = dec(token, memory_*, state_*)``.

Attention is written out (matmul, mask, softmax) so the graphs need no fused-attention operator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from seqkit.models.rope import apply_rope, rope_tables


@dataclass
class GraphSpec:
    """One graph to export: the module, example inputs, names, dynamic axes and metadata."""

    module: nn.Module
    inputs: tuple
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict
    meta: dict = field(default_factory=dict)


def _attend(q, k, v, past: int | torch.Tensor | None = None):
    """Softmax attention of ``q [B,H,T,D]`` over ``k, v [B,H,S,D]``; causal when ``past`` is given
    (query ``t`` sees keys ``<= past + t``)."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.size(-1))
    if past is not None:
        T, S = q.size(2), k.size(2)
        rows = torch.arange(T, device=q.device)[:, None] + (S - T)
        cols = torch.arange(S, device=q.device)[None, :]
        scores = scores.masked_fill(cols > rows, float("-inf"))
    return scores.softmax(-1) @ v


def _heads(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)


def _merge(x):
    B, H, T, D = x.shape
    return x.transpose(1, 2).reshape(B, T, H * D)


# ---------------------------------------------------------------- language models


class RNNStep(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, idx, cond, *state):
        m = self.m
        x = m._inputs(idx, cond if m.config.n_cond else None)
        cache = (state[0], state[1]) if m.config.cell == "lstm" else state[0]
        out, new = m.rnn(x, cache)
        new = new if isinstance(new, tuple) else (new,)
        return (m.head(out), *new, out)


def rnn_lm_graph(model) -> GraphSpec:
    """The step graph, with one more output: ``hidden``, the top layer's output at every step
    ``[B, T, hidden]`` (what ``hidden_sequence`` gives: abc's activation heatmaps)."""
    c = model.config
    states = 2 if c.cell == "lstm" else 1
    shape = [c.n_layer, "B", c.hidden]
    state = tuple(torch.zeros(c.n_layer, 2, c.hidden) for _ in range(states))
    spec = _lm_spec(RNNStep(model), c, state, [shape] * states, {1: "B"})
    spec.output_names.append("hidden")
    spec.dynamic_axes["hidden"] = {0: "B", 1: "T"}
    return spec


class TransformerStep(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, idx, cond, past_k, past_v):
        m, c = self.m, self.m.config
        T = idx.size(1)
        past = past_k.size(3)
        x = m.tok(idx)
        rope = None
        positions = torch.arange(T, device=idx.device) + past
        if m.pos is not None:
            x = x + m.pos(positions)
        else:
            rope = rope_tables(c.n_embd // c.n_head, positions=positions)
        if m.cond is not None:
            x = x + m.cond(cond)[:, None, :]
        ks, vs = [], []
        for i, block in enumerate(m.blocks):
            a = block.attn
            h = block.ln1(x)
            q, k, v = a.qkv(h).split(c.n_embd, dim=2)
            q, k, v = (_heads(t, c.n_head) for t in (q, k, v))
            if rope is not None:
                q, k = apply_rope(q, *rope), apply_rope(k, *rope)
            k = torch.cat([past_k[i], k], dim=2)
            v = torch.cat([past_v[i], v], dim=2)
            ks.append(k)
            vs.append(v)
            x = x + a.proj(_merge(_attend(q, k, v, past)))
            x = x + block.mlp(block.ln2(x))
        return m.head(m.ln_f(x)), torch.stack(ks), torch.stack(vs)


def transformer_lm_graph(model) -> GraphSpec:
    c = model.config
    hd = c.n_embd // c.n_head
    shape = [c.n_layer, "B", c.n_head, 0, hd]
    state = tuple(torch.zeros(c.n_layer, 2, c.n_head, 0, hd) for _ in range(2))
    return _lm_spec(TransformerStep(model), c, state, [shape, shape], {1: "B", 3: "past"},
                    out_axes={1: "B", 3: "total"})


def _lm_spec(module, c, state, shapes, state_axes, out_axes=None) -> GraphSpec:
    n = len(state)
    idx = torch.zeros(2, 3, dtype=torch.long)
    cond = torch.zeros(2, dtype=torch.long)
    ins = ["idx", "cond"] + [f"state_{i}" for i in range(n)]
    outs = ["logits"] + [f"state_out_{i}" for i in range(n)]
    axes = {"idx": {0: "B", 1: "T"}, "cond": {0: "B"}, "logits": {0: "B", 1: "T"}}
    axes.update({f"state_{i}": state_axes for i in range(n)})
    axes.update({f"state_out_{i}": out_axes or state_axes for i in range(n)})
    meta = {"kind": "lm", "states": shapes, "conditional": bool(getattr(c, "n_cond", 0)),
            "vocab_size": c.vocab_size, "max_len": getattr(c, "max_len", None), "tokens_per_call": 0}
    return GraphSpec(module, (idx, cond, *state), ins, outs, axes, meta)


# ---------------------------------------------------------------- seq2seq


class GRUEncoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, src):
        m, c = self.m, self.m.config
        h0 = torch.zeros(2 * c.n_layer, src.size(0), c.hidden, device=src.device)
        out, h = m.encoder(m.src_embed(src), h0)
        h = h.view(c.n_layer, 2, src.size(0), c.hidden)
        h = torch.tanh(m.bridge(torch.cat([h[:, 0], h[:, 1]], dim=-1)))
        keys = m.enc_proj(out)
        return keys, h, torch.zeros_like(keys[:, :1])


class GRUDecoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, token, keys, h, feed):
        m = self.m
        emb = m.tgt_embed(token)
        o, h = m.decoder(torch.cat([emb, feed], dim=-1), h)
        ctx = (o @ keys.transpose(1, 2)).softmax(-1) @ keys
        feed = torch.tanh(m.combine(torch.cat([o, ctx], dim=-1)))
        return m.head(feed), h, feed


def gru_seq2seq_graphs(model) -> dict[str, GraphSpec]:
    c = model.config
    src = torch.ones(2, 5, dtype=torch.long)
    keys = torch.zeros(2, 5, c.hidden)
    h = torch.zeros(c.n_layer, 2, c.hidden)
    feed = torch.zeros(2, 1, c.hidden)
    meta = {"kind": "seq2seq", "states": [[c.n_layer, "B", c.hidden], ["B", 1, c.hidden]],
            "max_len": c.max_len, "tokens_per_call": 1}
    enc = GraphSpec(GRUEncoder(model), (src,), ["src"], ["memory_0", "state_0", "state_1"],
                    {"src": {0: "B", 1: "S"}, "memory_0": {0: "B", 1: "S"}, "state_0": {1: "B"},
                     "state_1": {0: "B"}}, meta)
    dec = GraphSpec(GRUDecoder(model), (torch.ones(2, 1, dtype=torch.long), keys, h, feed),
                    ["token", "memory_0", "state_0", "state_1"], ["logits", "state_out_0", "state_out_1"],
                    {"token": {0: "B"}, "memory_0": {0: "B", 1: "S"}, "state_0": {1: "B"}, "state_1": {0: "B"},
                     "logits": {0: "B"}, "state_out_0": {1: "B"}, "state_out_1": {0: "B"}}, meta)
    return {"encoder": enc, "decoder": dec}


class TransformerEncoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, src):
        m, c = self.m, self.m.config
        x = m.src_embed(src) * m.scale + m.pos(torch.arange(src.size(1), device=src.device))
        for layer in m.encoder:
            q, k, v = (_heads(t, c.n_head) for t in layer.qkv(layer.ln1(x)).chunk(3, dim=-1))
            x = x + layer.proj(_merge(_attend(q, k, v)))
            x = x + layer.ff(layer.ln2(x))
        memory = m.enc_norm(x)
        mk, mv = [], []
        for layer in m.decoder:
            k, v = (_heads(t, c.n_head) for t in layer.kv_cross(memory).chunk(2, dim=-1))
            mk.append(k)
            mv.append(v)
        return torch.stack(mk), torch.stack(mv)


class TransformerDecoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, token, mk, mv, past_k, past_v):
        m, c = self.m, self.m.config
        past = past_k.size(3)
        y = m.tgt_embed(token) * m.scale + m.pos(torch.arange(token.size(1), device=token.device) + past)
        ks, vs = [], []
        for i, layer in enumerate(m.decoder):
            q, k, v = (_heads(t, c.n_head) for t in layer.qkv(layer.ln1(y)).chunk(3, dim=-1))
            k, v = torch.cat([past_k[i], k], 2), torch.cat([past_v[i], v], 2)
            ks.append(k)
            vs.append(v)
            y = y + layer.proj(_merge(_attend(q, k, v, past)))
            qc = _heads(layer.q_cross(layer.ln2(y)), c.n_head)
            y = y + layer.proj_cross(_merge(_attend(qc, mk[i], mv[i])))
            y = y + layer.ff(layer.ln3(y))
        return m.head(m.dec_norm(y)), torch.stack(ks), torch.stack(vs)


def transformer_seq2seq_graphs(model) -> dict[str, GraphSpec]:
    c = model.config
    L, H, D = c.n_layer, c.n_head, c.n_embd // c.n_head
    src = torch.ones(2, 5, dtype=torch.long)
    mem = torch.zeros(L, 2, H, 5, D)
    past = torch.zeros(L, 2, H, 0, D)
    shape = [L, "B", H, 0, D]
    meta = {"kind": "seq2seq", "states": [shape, shape], "max_len": c.max_len, "tokens_per_call": 0}
    mem_axes = {1: "B", 3: "S"}
    enc = GraphSpec(TransformerEncoder(model), (src,), ["src"], ["memory_0", "memory_1"],
                    {"src": {0: "B", 1: "S"}, "memory_0": mem_axes, "memory_1": mem_axes}, meta)
    dec = GraphSpec(TransformerDecoder(model), (torch.ones(2, 1, dtype=torch.long), mem, mem, past, past),
                    ["token", "memory_0", "memory_1", "state_0", "state_1"],
                    ["logits", "state_out_0", "state_out_1"],
                    {"token": {0: "B", 1: "T"}, "memory_0": mem_axes, "memory_1": mem_axes,
                     "state_0": {1: "B", 3: "past"}, "state_1": {1: "B", 3: "past"},
                     "logits": {0: "B", 1: "T"}, "state_out_0": {1: "B", 3: "total"},
                     "state_out_1": {1: "B", 3: "total"}}, meta)
    return {"encoder": enc, "decoder": dec}


def core_graphs(model) -> dict[str, GraphSpec] | None:
    """The graphs of a core model (``None`` for other classes)."""
    from seqkit.models.rnn import RNNLM
    from seqkit.models.seq2seq import GRUSeq2Seq, TransformerSeq2Seq
    from seqkit.models.transformer import TransformerLM

    if type(model) is RNNLM:
        return {"step": rnn_lm_graph(model)}
    if type(model) is TransformerLM:
        return {"step": transformer_lm_graph(model)}
    if type(model) is GRUSeq2Seq:
        return gru_seq2seq_graphs(model)
    if type(model) is TransformerSeq2Seq:
        return transformer_seq2seq_graphs(model)
    return None


def lm_graph(module, config, example_state: tuple, state_shapes: list, state_axes: dict,
             tokens_per_call: int = 0) -> dict[str, GraphSpec]:
    """For a plugin LM: its step ``module(idx, cond, *state) -> (logits, *state_out)`` as the
    ``step`` graph. ``tokens_per_call=1``: the graph reads one token per call."""
    spec = _lm_spec(module, config, example_state, state_shapes, state_axes)
    spec.meta["tokens_per_call"] = tokens_per_call
    if tokens_per_call == 1:
        spec.inputs = (spec.inputs[0][:, :1], *spec.inputs[1:])
    return {"step": spec}
