"""Sampling from any seqkit language model: temperature, top-k, top-p, batches, stop tokens.

``generate`` uses the model's cache whenever it has one (``model.new_cache()`` for Transformers,
the returned recurrent state for RNNs), so each step costs one token's work.
"""

from __future__ import annotations

import math

import torch

from .errors import SeqkitError


def filter_logits(logits, top_k: int = 0, top_p: float = 1.0):
    """Mask logits ``[B, V]`` outside the top-k and the top-p nucleus with ``-inf``.

    The most likely token is always kept, so ``top_p <= 0`` behaves like top-1 (greedy).
    """
    if top_k and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = sorted_logits.softmax(-1)
        # drop a token when the tokens before it already reach top_p (always keep the first)
        drop = probs.cumsum(-1) - probs >= top_p
        drop[..., 0] = False  # top_p <= 0 keeps just the top token (greedy)
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return logits


def _max_len(model) -> int | None:
    config = getattr(model, "config", None)
    return getattr(config, "max_len", None) if config is not None else None


def _start_cache(model):
    new_cache = getattr(model, "new_cache", None)
    return new_cache() if callable(new_cache) else None


@torch.no_grad()
def generate(model, prompt, max_new_tokens: int, temperature: float = 1.0, top_k: int = 0,
             top_p: float = 1.0, cond=None, stop_ids=(), suppress_ids=(),
             generator: torch.Generator | None = None, use_cache: bool = True, on_step=None):
    """Sample ``max_new_tokens`` after ``prompt`` (``LongTensor[B, T]``, same length per row).

    Returns the new tokens ``[B, n]`` (``n <= max_new_tokens``: generation ends early once every
    row has produced a stop token; a finished row is filled with its stop token).
    ``suppress_ids`` are never produced (e.g. ``<pad>``/``<bos>``, which a model sees only as
    input). ``temperature=0`` is greedy. A prompt longer than the model's ``max_len`` is cut to its end,
    and once a sequence fills the context, the window slides (recomputing without a cache).
    ``on_step(1)`` is called after each new token (e.g. ``advance`` of ``progress_steps``).
    """
    if prompt.dim() != 2 or prompt.size(1) == 0:
        raise ValueError("prompt must be a non-empty LongTensor[B, T]")
    if not 0 <= temperature < math.inf:  # nan and inf too
        raise SeqkitError(f"temperature must be a finite number >= 0, not {temperature}")
    was_training = model.training
    model.eval()
    device = prompt.device
    B = prompt.size(0)
    stop = torch.tensor(sorted(set(int(s) for s in stop_ids)), dtype=torch.long, device=device)
    banned = torch.tensor(sorted(set(int(s) for s in suppress_ids)), dtype=torch.long, device=device)
    limit = _max_len(model)
    seq = prompt if not limit else prompt[:, -limit:]
    done = torch.zeros(B, dtype=torch.bool, device=device)
    fill = torch.zeros(B, dtype=torch.long, device=device)
    out = []
    cache = _start_cache(model) if use_cache else None
    logits, state = model(seq, cond=cond, cache=cache)
    for _ in range(max_new_tokens):
        last = logits[:, -1, :].float()
        if banned.numel():
            last = last.index_fill(-1, banned, float("-inf"))
        if temperature <= 0:
            nxt = last.argmax(-1)
        else:
            probs = filter_logits(last / temperature, top_k, top_p).softmax(-1)
            nxt = torch.multinomial(probs, 1, generator=generator)[:, 0]
        nxt = torch.where(done, fill, nxt)
        out.append(nxt)
        if on_step is not None:
            on_step(1)
        if stop.numel():
            hit = torch.isin(nxt, stop) & ~done
            fill = torch.where(hit, nxt, fill)
            done |= hit
            if bool(done.all()):
                break
        if len(out) == max_new_tokens:
            break
        seq = torch.cat([seq, nxt[:, None]], dim=1)
        if limit and seq.size(1) > limit:  # slide the window
            seq = seq[:, -limit:]
            cache = _start_cache(model) if use_cache else None
            logits, state = model(seq, cond=cond, cache=cache)
        elif use_cache:
            logits, state = model(nxt[:, None], cond=cond, cache=state)
        else:
            logits, _ = model(seq, cond=cond, cache=None)
    model.train(was_training)
    return torch.stack(out, dim=1) if out else prompt[:, :0]
