"""The decoding cache: what a language model carries from one call to the next while it samples.

Every seqkit language model follows one protocol, which ``seqkit.generate`` relies on::

    cache = model.new_cache()                           # make one (models without new_cache: None)
    logits, cache = model(idx, cond=cond, cache=cache)  # advance: idx holds only the new tokens
    logits, cache = model(nxt, cond=cond, cache=cache)  # ... one token's work per step, forever

The cache slides past the model's context by itself, so the caller never recomputes anything:

* ``KVCache(sliding=True)`` (relative positions: RoPE, relative attention): a ring of ``size``
  slots per layer. Past the context each new token's keys and values overwrite the oldest
  token's, so attention is a sliding window of the last ``size`` tokens and a step costs the same
  at token 10 and at token 10,000 (``TransformerLM`` with ``position="rope"``, the Music
  Transformer).
* ``KVCache(sliding=False)`` (learned absolute positions, which cannot slide: the model never saw a
  position past ``max_len``): the keys grow up to ``size``; the token after that restarts the
  cache on the last ``size // 4`` tokens (``ids``) at positions ``0 ..``, so past the context a
  token sees between ``size // 4`` and ``size`` tokens and a step costs one token's work plus, every
  ``size - size // 4 + 1`` steps, one read of a quarter window: about 1.33 tokens' work per step
  where compute is the limit (restarting on half a window would cost about 2, recomputing each
  window ``size``).
* a recurrent model's state (``RNNLM``) and the compressive Transformer's memories and compressed
  memories (``seqkit_compressive``) are caches too: they never fill.

``restart_window(cache)`` says where a non-sliding cache restarts, so tests and the ONNX sampler
(``generate_numpy``) read exactly the windows the cache reads.
"""

from __future__ import annotations

import torch


class KVCache:
    """Keys and values of every layer (``[B, H, slots, D]`` tensors in ``k``/``v``), for at most
    ``size`` positions; ``pos`` counts the tokens read so far (absolute position of the next one).

    A sliding cache allocates its ring on first use (``allocate``: batch, device and dtype of that
    call); ``kpos`` holds each slot's absolute position (-1 = empty). A growing one keeps the token
    ids it holds (``ids``) to restart from.
    """

    def __init__(self, n_layer: int, size: int, sliding: bool = True):
        self.n_layer, self.size, self.sliding = n_layer, size, sliding
        self.k: list = [None] * n_layer
        self.v: list = [None] * n_layer
        self.kpos: torch.Tensor | None = None
        self.pos = 0
        self.ids: torch.Tensor | None = None  # growing caches: the tokens whose keys are held
        self._pending = None  # (per-layer (k, v) of a whole-sequence forward, T): copied in on allocation

    @property
    def length(self) -> int:
        """Positions held (at most ``size``)."""
        return min(self.pos, self.size)

    @property
    def allocated(self) -> bool:
        return self.k[0] is not None

    def allocate(self, batch: int, n_head: int, head_dim: int, device, dtype) -> None:
        """The ring buffers (sliding caches), filled with a pending whole-sequence forward's keys."""
        shape = (batch, n_head, self.size, head_dim)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(self.n_layer)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(self.n_layer)]
        self.kpos = torch.full((self.size,), -1, dtype=torch.long, device=device)
        if self._pending is not None:
            kvs, T = self._pending
            self._pending = None
            keep = min(T, self.size)
            pos = torch.arange(T - keep, T, device=device)
            slots = pos % self.size
            for i, (k, v) in enumerate(kvs):
                self.k[i].index_copy_(2, slots, k[:, :, T - keep:].to(dtype))
                self.v[i].index_copy_(2, slots, v[:, :, T - keep:].to(dtype))
            self.kpos.index_copy_(0, slots, pos)

    def continue_from(self, kvs, T: int) -> None:
        """Continue after a whole-sequence forward of ``T`` tokens whose layers gave ``kvs``
        (``[(k, v)]``, ``[B, H, T, D]``): copied into the ring when it is allocated."""
        self._pending, self.pos = (kvs, T), T

    # ---------------------------------------------------------------- growing (absolute positions)

    def update(self, layer: int, k, v):
        """Append the new tokens' keys/values to layer ``layer`` (growing caches); all of them."""
        if self.k[layer] is not None:
            k = torch.cat([self.k[layer], k], dim=2)
            v = torch.cat([self.v[layer], v], dim=2)
        self.k[layer], self.v[layer] = k, v
        return k, v

    def layer_length(self, layer: int) -> int:
        return 0 if self.k[layer] is None else self.k[layer].size(2)

    def reset(self) -> None:
        """Empty (keeps ``size`` and ``sliding``)."""
        self.k, self.v = [None] * self.n_layer, [None] * self.n_layer
        self.kpos, self.pos, self.ids, self._pending = None, 0, None, None


def restart_window(size: int) -> int:
    """Tokens a full growing cache restarts on: the last ``size // 4`` (at least 1), the new token
    among them."""
    return max(1, size // 4)


def ring_window(kpos: torch.Tensor, qpos: torch.Tensor, n: int | None = None):
    """Record new tokens at absolute positions ``qpos [T]`` in a ring's slot positions ``kpos [M]``
    (in place) and return their ``slots [T]``, the additive attention mask ``[T, n]`` of their
    queries over the first ``n`` slots (``-inf`` for empty slots, future tokens and tokens more than
    ``M - 1`` back) and the key-minus-query distances ``[T, n]`` (for relative attention).
    Plain tensor code with static shapes for a fixed ``T`` and ``n``: CUDA-graph friendly."""
    M = kpos.shape[0]
    slots = qpos % M
    kpos.index_copy_(0, slots, qpos)
    kp = kpos[: n or M]
    dist = kp[None, :] - qpos[:, None]
    valid = (kp[None, :] >= 0) & (dist <= 0) & (dist > -M)
    mask = torch.zeros(dist.shape, device=qpos.device).masked_fill(~valid, float("-inf"))
    return slots, mask, dist
