"""Encoder-decoder models: a GRU with attention and a Transformer.

Both take a padded source ``src [B, S]`` and a teacher-forced target input ``tgt_in [B, T]``
(starting with BOS) and return ``logits [B, T, tgt_vocab]``. ``greedy_decode`` writes outputs for a
whole batch at once, caching the encoder output (and, for the Transformer, decoder keys/values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from seqkit.models.settings import check_sizes


@dataclass
class Seq2SeqConfig:
    src_vocab: int
    tgt_vocab: int
    n_embd: int = 128
    hidden: int = 256  # GRU hidden size (per direction in the encoder)
    n_layer: int = 1  # GRU layers; Transformer encoder and decoder layers
    n_head: int = 4
    d_ff: int = 0  # 0 = 4 * n_embd
    dropout: float = 0.0
    max_len: int = 256
    src_pad_id: int = 0
    tgt_pad_id: int = 0

    def __post_init__(self):
        # torch would name its own arguments (num_layers, input_size ...): name ours first
        check_sizes(self, "src_vocab", "tgt_vocab", "n_embd", "hidden", "n_layer", "n_head", "max_len")
        if isinstance(self.d_ff, bool) or not isinstance(self.d_ff, int) or self.d_ff < 0:
            raise ValueError(f"d_ff must be an integer of at least 0 (0 = 4 * n_embd), not {self.d_ff!r}")


class _Decoding:
    @torch.no_grad()
    def greedy_decode(self, src, max_len: int, bos_id: int, eos_id: int):
        """Greedy outputs ``[B, <=max_len]`` (BOS not included); rows after EOS hold EOS."""
        B = src.size(0)
        state = self.start(src)
        token = torch.full((B, 1), bos_id, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        out = []
        for _ in range(max_len):
            logits, state = self.step(token, state)
            token = logits[:, -1].argmax(-1, keepdim=True)
            token = torch.where(done[:, None], torch.full_like(token, eos_id), token)
            out.append(token)
            done |= token[:, 0] == eos_id
            if bool(done.all()):
                break
        return torch.cat(out, dim=1) if out else token[:, :0]


class GRUSeq2Seq(_Decoding, nn.Module):
    """Bidirectional GRU encoder; GRU decoder with (Luong, general) attention over its outputs."""

    config_class = Seq2SeqConfig

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        self.config = c = config
        self.src_embed = nn.Embedding(c.src_vocab, c.n_embd, padding_idx=c.src_pad_id)
        self.tgt_embed = nn.Embedding(c.tgt_vocab, c.n_embd, padding_idx=c.tgt_pad_id)
        drop = c.dropout if c.n_layer > 1 else 0.0
        self.encoder = nn.GRU(c.n_embd, c.hidden, c.n_layer, batch_first=True, bidirectional=True,
                              dropout=drop)
        self.bridge = nn.Linear(2 * c.hidden, c.hidden)
        self.enc_proj = nn.Linear(2 * c.hidden, c.hidden, bias=False)
        self.decoder = nn.GRU(c.n_embd + c.hidden, c.hidden, c.n_layer, batch_first=True, dropout=drop)
        self.combine = nn.Linear(2 * c.hidden, c.hidden)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden, c.tgt_vocab)

    def start(self, src):
        c = self.config
        mask = src != c.src_pad_id
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.drop(self.src_embed(src)), lengths,
                                                   batch_first=True, enforce_sorted=False)
        out, h = self.encoder(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        h = h.view(c.n_layer, 2, src.size(0), c.hidden)
        h = torch.tanh(self.bridge(torch.cat([h[:, 0], h[:, 1]], dim=-1))).contiguous()
        keys = self.enc_proj(out)
        feed = torch.zeros(src.size(0), 1, c.hidden, device=src.device, dtype=keys.dtype)
        return {"keys": keys, "mask": mask, "h": h, "feed": feed}

    def step(self, tgt_in, state):
        """Decode ``tgt_in [B, T]`` given the state; returns logits and the new state."""
        keys, mask = state["keys"], state["mask"]
        h, feed = state["h"], state["feed"]
        emb = self.drop(self.tgt_embed(tgt_in))
        outs = []
        for t in range(tgt_in.size(1)):  # input feeding: the attentional vector goes back in
            o, h = self.decoder(torch.cat([emb[:, t : t + 1], feed], dim=-1), h)
            scores = torch.bmm(o, keys.transpose(1, 2)).masked_fill(~mask[:, None, :], float("-inf"))
            ctx = torch.bmm(scores.softmax(-1), keys)
            feed = torch.tanh(self.combine(torch.cat([o, ctx], dim=-1)))
            outs.append(feed)
        out = torch.cat(outs, dim=1)
        return self.head(self.drop(out)), {"keys": keys, "mask": mask, "h": h, "feed": feed}

    def forward(self, src, tgt_in):
        logits, _ = self.step(tgt_in, self.start(src))
        return logits


class TransformerSeq2Seq(_Decoding, nn.Module):
    """Pre-norm encoder-decoder Transformer with learned positions and fused attention."""

    config_class = Seq2SeqConfig

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        self.config = c = config
        if c.n_embd % c.n_head:
            raise ValueError(f"n_embd ({c.n_embd}) must be divisible by n_head ({c.n_head})")
        self.src_embed = nn.Embedding(c.src_vocab, c.n_embd)
        self.tgt_embed = nn.Embedding(c.tgt_vocab, c.n_embd)
        self.pos = nn.Embedding(c.max_len, c.n_embd)
        d_ff = c.d_ff or 4 * c.n_embd
        self.encoder = nn.ModuleList(_EncoderLayer(c.n_embd, c.n_head, d_ff, c.dropout) for _ in range(c.n_layer))
        self.decoder = nn.ModuleList(_DecoderLayer(c.n_embd, c.n_head, d_ff, c.dropout) for _ in range(c.n_layer))
        self.enc_norm = nn.LayerNorm(c.n_embd)
        self.dec_norm = nn.LayerNorm(c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.n_embd, c.tgt_vocab, bias=False)
        self.scale = math.sqrt(c.n_embd)

    def _check(self, length):
        if length > self.config.max_len:
            raise ValueError(f"sequence of {length} tokens exceeds max_len {self.config.max_len}")

    def start(self, src):
        self._check(src.size(1))
        mask = src != self.config.src_pad_id  # [B, S]
        x = self.src_embed(src) * self.scale + self.pos(torch.arange(src.size(1), device=src.device))
        x = self.drop(x)
        attn_mask = mask[:, None, None, :]
        for layer in self.encoder:
            x = layer(x, attn_mask)
        return {"memory": self.enc_norm(x), "mask": attn_mask, "cache": [None] * len(self.decoder), "t": 0}

    def step(self, tgt_in, state):
        T = tgt_in.size(1)
        t0 = state["t"]
        self._check(t0 + T)
        y = self.tgt_embed(tgt_in) * self.scale + self.pos(torch.arange(t0, t0 + T, device=tgt_in.device))
        y = self.drop(y)
        cache = list(state["cache"])
        for i, layer in enumerate(self.decoder):
            y, cache[i] = layer(y, state["memory"], state["mask"], cache[i])
        logits = self.head(self.dec_norm(y))
        return logits, {**state, "cache": cache, "t": t0 + T}

    def forward(self, src, tgt_in):
        logits, _ = self.step(tgt_in, self.start(src))
        return logits


def _heads(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)


def _merge(x):
    B, H, T, D = x.shape
    return x.transpose(1, 2).reshape(B, T, H * D)


class _EncoderLayer(nn.Module):
    def __init__(self, d, n_head, d_ff, dropout):
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff = nn.Sequential(nn.Linear(d, d_ff), nn.GELU(), nn.Linear(d_ff, d), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        q, k, v = (_heads(t, self.n_head) for t in self.qkv(self.ln1(x)).chunk(3, dim=-1))
        p = self.dropout if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        x = x + self.drop(self.proj(_merge(a)))
        return x + self.ff(self.ln2(x))


class _DecoderLayer(nn.Module):
    def __init__(self, d, n_head, d_ff, dropout):
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.q_cross, self.kv_cross, self.proj_cross = nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)
        self.ff = nn.Sequential(nn.Linear(d, d_ff), nn.GELU(), nn.Linear(d_ff, d), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, y, memory, mask, cache):
        p = self.dropout if self.training else 0.0
        T = y.size(1)
        q, k, v = (_heads(t, self.n_head) for t in self.qkv(self.ln1(y)).chunk(3, dim=-1))
        if cache is None:
            mk, mv = (_heads(t, self.n_head) for t in self.kv_cross(memory).chunk(2, dim=-1))
            past = 0
        else:
            past = cache["k"].size(2)
            k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            mk, mv = cache["mk"], cache["mv"]
        if past == 0:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
        else:
            causal = torch.ones(T, past + T, dtype=torch.bool, device=y.device).tril(diagonal=past)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=causal, dropout_p=p)
        y = y + self.drop(self.proj(_merge(a)))
        qc = _heads(self.q_cross(self.ln2(y)), self.n_head)
        a = F.scaled_dot_product_attention(qc, mk, mv, attn_mask=mask, dropout_p=p)
        y = y + self.drop(self.proj_cross(_merge(a)))
        y = y + self.ff(self.ln3(y))
        return y, {"k": k, "v": v, "mk": mk, "mv": mv}
