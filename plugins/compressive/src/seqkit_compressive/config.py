"""The compressive Transformer's settings: ``CompressiveConfig`` (checked, with strings from
``--set`` accepted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from seqkit import SeqkitError

COMPRESSIONS = ("conv", "mean", "max")
_INTS = ("vocab_size", "n_layer", "n_head", "n_embd", "d_ff", "n_cond", "seg_len", "mem_len",
         "cmem_len", "cmem_ratio")
_FLOATS = ("dropout", "aux_weight")


@dataclass
class CompressiveConfig:
    vocab_size: int
    n_layer: int = 6
    n_head: int = 8
    n_embd: int = 512
    d_ff: int = 0  # 0 = 4 * n_embd
    dropout: float = 0.0
    n_cond: int = 0
    bias: bool = False
    seg_len: int = 512  # tokens per segment (the attention window of the current tokens)
    mem_len: int = 512  # memory per layer; 0 = a plain Transformer over each segment
    cmem_len: int = 128  # compressed memory per layer; 0 = none (Transformer-XL)
    cmem_ratio: int = 4  # memories per compressed memory
    compression: str = "conv"  # conv | mean | max
    memory_layers: tuple = ()  # 1-based layers with memories; empty = every layer
    aux_weight: float = 1.0  # weight of the attention-reconstruction loss

    def __post_init__(self):
        self._coerce()
        c = self
        if c.vocab_size < 1 or c.n_layer < 1 or c.n_head < 1 or c.n_embd < 1:
            raise SeqkitError("vocab_size, n_layer, n_head and n_embd must be positive")
        if c.n_embd % c.n_head or (c.n_embd // c.n_head) % 2:
            raise SeqkitError(f"n_embd ({c.n_embd}) must be n_head ({c.n_head}) times an even head size")
        if c.seg_len < 1:
            raise SeqkitError(f"seg_len must be at least 1, not {c.seg_len}")
        if c.mem_len < 0 or c.cmem_len < 0 or c.cmem_ratio < 1:
            raise SeqkitError("mem_len and cmem_len must be >= 0 and cmem_ratio >= 1")
        if c.compression not in COMPRESSIONS:
            raise SeqkitError(f"compression must be one of {', '.join(COMPRESSIONS)}, not {c.compression!r}")
        if not 0 <= c.dropout < 1 or c.aux_weight < 0:
            raise SeqkitError("dropout must be in [0, 1) and aux_weight >= 0")
        bad = [layer for layer in c.memory_layers if not 1 <= layer <= c.n_layer]
        if bad:
            raise SeqkitError(f"memory_layers {bad} outside 1..{c.n_layer} (layers count from 1)")
        if c.cmem_len:
            if not c.mem_len:
                raise SeqkitError("cmem_len > 0 needs mem_len > 0: compressed memories are made "
                                  "from what falls out of the memory")
            if c.mem_len % c.cmem_ratio or c.seg_len % c.cmem_ratio:
                raise SeqkitError(f"mem_len ({c.mem_len}) and seg_len ({c.seg_len}) must be multiples "
                                  f"of cmem_ratio ({c.cmem_ratio}) so that evicted memories compress evenly")
            if c.cmem_len < c.mem_len // c.cmem_ratio:
                raise SeqkitError(f"cmem_len ({c.cmem_len}) is shorter than mem_len / cmem_ratio "
                                  f"({c.mem_len} / {c.cmem_ratio} = {c.mem_len // c.cmem_ratio}): "
                                  f"it could not hold one memory's worth of compressed memories")

    def _coerce(self):
        """Accept strings (``--set mem_len=512``, ``memory_layers=5,6``) and JSON lists."""
        for names, kind in ((_INTS, int), (_FLOATS, float)):
            for name in names:
                v = getattr(self, name)
                if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                    continue
                try:
                    if kind is int and isinstance(v, float) and v != int(v):
                        raise ValueError
                    setattr(self, name, kind(v))
                except (ValueError, OverflowError):
                    raise SeqkitError(f"compressive config: {name} must be {'an integer' if kind is int else 'a number'}, "
                                      f"not {v!r}") from None
        if isinstance(self.bias, str):
            if self.bias.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise SeqkitError(f"bias must be true or false, not {self.bias!r}")
            self.bias = self.bias.lower() in ("true", "1", "yes")
        layers = self.memory_layers
        if isinstance(layers, str):
            layers = [p for p in layers.replace(" ", "").split(",") if p]
        elif isinstance(layers, int):
            layers = [layers]
        try:
            self.memory_layers = tuple(sorted({int(x) for x in (layers or ())}))
        except ValueError:
            raise SeqkitError(f"memory_layers must be layer numbers like 5,6, not {self.memory_layers!r}") from None

    # the model type's presets (`music train --preset`): CPU-sized ones; for the paper's sizes
    # (Rae et al. 2019) use the defaults above with --set
    PRESETS: ClassVar[dict] = {
        "small": dict(n_layer=4, n_embd=256, n_head=4, d_ff=1024, dropout=0.1),
        "tiny": dict(n_layer=2, n_embd=32, n_head=2, d_ff=64, dropout=0.0),
    }

    def is_memory_layer(self, i: int) -> bool:
        """Whether block ``i`` (0-based) keeps memories."""
        return self.mem_len > 0 and (not self.memory_layers or i + 1 in self.memory_layers)
