"""Compressive Transformer (Rae et al. 2019, https://arxiv.org/abs/1911.05507) as a seqkit LM.

A decoder-only Transformer that reads a long sequence segment by segment (``seg_len`` tokens).
Each memory layer keeps

* a memory: the layer's inputs for the last ``mem_len`` positions, first in, first out;
* a compressed memory: what falls out of the memory, shrunk ``cmem_ratio`` times by a compression
  function (a strided 1-D convolution, or mean/max pooling), the last ``cmem_len`` of them.

A segment's queries attend to ``[compressed memory; memory; segment]`` (causally within the
segment). Positions are relative (rotary embeddings over that concatenation, so one compressed
slot counts as one step). Memories are detached: training on a window of several segments is
truncated backprop through time. The convolution is trained only by the attention-reconstruction
loss of the paper (queries, old memories and attention weights under stop-gradient), which the
forward pass leaves in ``self.aux_loss`` for ``seqkit.train.trainer.lm_loss`` to add.

``logits, cache = model(idx, cond=None, cache=None)``: without a cache ``idx`` is the whole
sequence; with the ``CompressiveCache`` returned last time, only the new tokens, which are then run
one at a time against preallocated key/value buffers (captured as a CUDA graph on CUDA), rolling
the memories whenever a segment is full; when the last call ended on a segment boundary, several
new tokens are read on segment by segment instead (how ``music eval`` scores a whole piece in
windows). Nothing of the past is ever recomputed. The cache is a kind of core decoding cache
(``seqkit.models.cache``): it never fills, so ``seqkit.generate`` reads on past any length.

Files: ``config.py`` (settings), ``modules.py`` (layers), ``decoding.py`` (the cache and the
one-token steps, CUDA graphs), this file (the model, its memories and the training stream).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from seqkit import SeqkitError, init_weights, rope_tables

from .config import COMPRESSIONS, CompressiveConfig
from .decoding import CompressiveCache, StepDecoding, compute_dtype
from .modules import Attention, Block, Compression

__all__ = ["COMPRESSIONS", "CompressiveConfig", "CompressiveTransformer", "CompressiveCache", "Attention", "Block",
           "Compression"]


class CompressiveTransformer(StepDecoding, nn.Module):
    config_class = CompressiveConfig

    def __init__(self, config: CompressiveConfig):
        super().__init__()
        self.config = c = config
        self.tok = nn.Embedding(c.vocab_size, c.n_embd)
        self.cond = nn.Embedding(c.n_cond, c.n_embd) if c.n_cond else None
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c, c.is_memory_layer(i)) for i in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.head.weight = self.tok.weight  # weight tying
        init_weights(self, c.n_layer)
        for block in self.blocks:
            if block.compress is not None:
                block.compress.reset_parameters()
        self.memory_layers = [i for i, b in enumerate(self.blocks) if b.memory]
        self.offset = (c.cmem_len + c.mem_len) if self.memory_layers else 0  # first segment position
        self._rope: dict = {}
        self.aux_loss = None
        self.cuda_graphs = True  # capture one-token steps on CUDA
        self.compile_decode = False  # torch.compile the one-token step before capturing it

    def onnx_graphs(self) -> dict:
        """The ONNX graphs of one-token decoding (``seqkit export-onnx``; ``onnx_graphs.py``)."""
        from .onnx_graphs import compressive_graphs

        return compressive_graphs(self)

    def new_cache(self) -> CompressiveCache:
        return CompressiveCache()

    def rope(self, device, dtype=torch.float32):
        """cos/sin tables ``[positions, head size]`` for every position of ``[cmem | mem | segment]``."""
        key = (str(device), dtype)
        if key not in self._rope:
            c = self.config
            self._rope[key] = rope_tables(c.n_embd // c.n_head, self.offset + c.seg_len, device, full=True,
                                          dtype=dtype)
        return self._rope[key]

    def _embed(self, idx, cond):
        x = self.tok(idx)
        if self.cond is not None:
            if cond is None:
                raise ValueError("this model is conditional: pass cond")
            x = x + self.cond(cond)[:, None, :]
        return self.drop(x)

    # ------------------------------------------------------------ memories

    def _remember(self, i, mem, cmem, x):
        """Push segment inputs ``x`` into layer ``i``'s memory; compress what falls out.
        Returns the new (mem, cmem) and, in training, the reconstruction loss (or None)."""
        c = self.config
        x = x.detach()
        full = x.clone() if mem is None else torch.cat([mem, x.to(mem.dtype)], dim=1)
        if full.size(1) <= c.mem_len:
            return full, cmem, None
        old, mem = full[:, :-c.mem_len], full[:, -c.mem_len:]
        block = self.blocks[i]
        if block.compress is None:
            return mem, cmem, None
        compressed = block.compress(old)
        loss = None
        if (self.training and c.aux_weight > 0 and c.compression == "conv" and torch.is_grad_enabled()):
            loss = block.reconstruction_loss(x, old, compressed)
        compressed = compressed.detach().to(mem.dtype)
        cmem = compressed if cmem is None else torch.cat([cmem, compressed], dim=1)[:, -c.cmem_len:]
        return mem, cmem, loss

    def _memory(self, i, cache):
        """Layer ``i``'s ``[compressed memory; memory]`` (or None)."""
        mem, cmem = cache.mem[i], cache.cmem[i]
        if mem is None:
            return None
        return mem if cmem is None else torch.cat([cmem, mem], dim=1)

    # ------------------------------------------------------------ forward

    def forward(self, idx, cond=None, cache: CompressiveCache | None = None, memory=None):
        if memory is not None:  # seqkit's memory protocol: read on from memories (streams)
            return self._read_on(idx, cond, memory)
        if cache is not None and cache.started:
            if cache.t == 0 and idx.size(1) > 1:  # read on from a segment boundary: whole segments
                return self._forward_segments(idx, cond, cache)
            return self._forward_steps(idx, cond, cache)
        return self._forward_segments(idx, cond, cache if cache is not None else CompressiveCache())

    # ------------------------------------------------------------ memory across windows

    @property
    def memory_segment(self) -> int:
        """Windows read with a memory are whole segments."""
        return self.config.seg_len

    def init_memory(self, batch_size: int, device) -> dict:
        """Empty memories (seqkit's memory protocol): per layer, the memory and the compressed
        memory, ``None`` until a segment has been read."""
        L = self.config.n_layer
        return {"mem": [None] * L, "cmem": [None] * L}

    def _read_on(self, idx, cond, memory: dict):
        """``idx`` read on from ``memory`` (the detached memories a previous window left), as
        Rae et al. and Transformer-XL train on streams: ``(logits, memories after idx)``."""
        if idx.size(1) % self.config.seg_len:
            raise SeqkitError(f"reading on from memories needs windows of whole segments: {idx.size(1)} "
                              f"tokens is not a multiple of seg_len {self.config.seg_len}")
        cache = CompressiveCache()
        cache.mem, cache.cmem = list(memory["mem"]), list(memory["cmem"])
        logits, cache = self._forward_segments(idx, cond, cache)
        return logits, {"mem": cache.mem, "cmem": cache.cmem}

    def _forward_segments(self, idx, cond, cache):
        """The whole sequence, segment by segment, memories carried (and detached) between them."""
        c = self.config
        B, T = idx.shape
        L = c.n_layer
        P = self.offset
        x_all = self._embed(idx, cond)
        cos, sin = self.rope(idx.device, compute_dtype(x_all))
        if not cache.mem:  # else memories carried over from the previous window (_read_on)
            cache.mem, cache.cmem = [None] * L, [None] * L
        self.aux_loss = None
        aux, outs = [], []
        n_compressing = 0
        for x in x_all.split(c.seg_len, dim=1):
            n = x.size(1)
            inputs, kvs = [], []
            for i, block in enumerate(self.blocks):
                inputs.append(x)
                mem_kv = None
                m = self._memory(i, cache) if block.memory else None
                if m is not None:
                    mem_kv = block.memory_kv(m, cos[P - m.size(1):P], sin[P - m.size(1):P])
                x, kv = block(x, cos[P:P + n], sin[P:P + n], mem_kv)
                kvs.append(kv)
            outs.append(x)
            if n == c.seg_len:  # a full segment: into the memories
                before = len(aux)
                for i in self.memory_layers:
                    cache.mem[i], cache.cmem[i], loss = self._remember(i, cache.mem[i], cache.cmem[i], inputs[i])
                    if loss is not None:
                        aux.append(loss)
                n_compressing += len(aux) > before
                cache.t, cache.seg_x, cache.seg_kv = 0, [], []
            else:  # the partial last segment stays in the cache
                cache.t, cache.seg_x, cache.seg_kv = n, inputs, kvs
        if aux:  # summed over layers, averaged over the segments that compressed
            self.aux_loss = c.aux_weight * torch.stack(aux).sum() / n_compressing
        elif self.training and torch.is_grad_enabled() and c.aux_weight > 0 and c.compression == "conv" \
                and self.memory_layers and c.cmem_len:
            # nothing was compressed (a short window): a zero term keeps every parameter in the
            # graph, so DistributedDataParallel needs no find_unused_parameters
            convs = [p for i in self.memory_layers for p in self.blocks[i].compress.parameters()]
            self.aux_loss = 0.0 * sum(p.sum() for p in convs)
        x = torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]
        cache.started = True
        cache.static = None
        return self.head(self.ln_f(x)), cache
