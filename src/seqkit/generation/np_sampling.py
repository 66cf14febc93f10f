"""Sampling with numpy from a model that runs without torch (an ``OnnxLM``), like ``generate``.

``generate_numpy`` follows ``seqkit.generate`` step for step (temperature, top-k, top-p, stop and
suppressed tokens, logit processors, forced prefixes, the stop callback), on numpy arrays, and
slides past a Transformer's context as torch's ``KVCache`` does (``seqkit.models.cache``): with rotary positions
a sliding window of keys (the graph's key state keeps the last ``max_len - 1`` keys, turned back one
position per step so that the new token sits at position ``max_len - 1``), with learned ones a
restart on the last quarter window. A runner with its own window (``slides_itself = True``, as the
Music Transformer's ``OnnxMusic``, which keeps a ring of keys) is only handed each new token. Its
random numbers come from a numpy
``Generator``, not torch's, so a seed gives other samples than the torch backend gives.
"""

from __future__ import annotations

import math

import numpy as np

from seqkit.errors import SeqkitError
from seqkit.generation.logit_processors import History, apply_processors


def softmax(x, axis: int = -1):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def filter_logits_numpy(logits, top_k: int = 0, top_p: float = 1.0):
    """``filter_logits`` on a numpy array ``[B, V]``: ``-inf`` outside the top-k and the top-p
    nucleus; the most likely token is always kept."""
    logits = np.array(logits, dtype=np.float32)
    V = logits.shape[-1]
    if top_k and top_k < V:
        kth = -np.sort(-logits, axis=-1)[..., top_k - 1: top_k]
        logits = np.where(logits < kth, -np.inf, logits).astype(np.float32)
    if top_p < 1.0:
        order = np.argsort(-logits, axis=-1, kind="stable")
        ranked = np.take_along_axis(logits, order, axis=-1)
        probs = softmax(ranked)
        drop = probs.cumsum(-1) - probs >= top_p
        drop[..., 0] = False
        ranked = np.where(drop, -np.inf, ranked).astype(np.float32)
        out = np.full_like(logits, -np.inf)
        np.put_along_axis(out, order, ranked, axis=-1)
        logits = out
    return logits


def sample_rows(probs, rng) -> np.ndarray:
    """One index per row of ``probs`` ``[B, V]`` (inverse CDF of one uniform number per row)."""
    cdf = probs.astype(np.float64).cumsum(-1)
    u = rng.random((probs.shape[0], 1)) * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(-1), probs.shape[-1] - 1)


def next_token_probs(last, temperature: float, top_k: int = 0, top_p: float = 1.0, banned=()):
    """The distribution ``generate`` samples from, given the last logits ``[B, V]``."""
    last = np.array(last, dtype=np.float32)
    if len(banned):
        last[:, list(banned)] = -np.inf
    return softmax(filter_logits_numpy(last / np.float32(temperature), top_k, top_p))


def _turn_back(keys, base: float = 10000.0):
    """Keys ``[L, B, H, S, D]`` rotated (RoPE) one position back."""
    D = keys.shape[-1]
    theta = -(1.0 / base ** (np.arange(0, D, 2, dtype=np.float32) / np.float32(D))).astype(np.float32)
    cos, sin = np.cos(theta), np.sin(theta)
    x1, x2 = keys[..., 0::2], keys[..., 1::2]
    out = np.empty_like(keys)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x1 * sin + x2 * cos
    return out


def _advance(model, nxt, seq, held: int, cond, state, limit):
    """One new token through the model's cache, sliding past ``limit`` like torch's ``KVCache``:
    ``(logits, state, tokens held)``."""
    if not limit or held < limit or getattr(model, "slides_itself", False):  # (a runner with its own window)
        logits, state = model(nxt, cond=cond, cache=state)
        return logits, state, held + 1
    if getattr(model.config, "position", None) == "rope":  # the last limit - 1 keys, one position back
        k, v = state[0][:, :, :, 1 - limit:], state[1][:, :, :, 1 - limit:]
        logits, state = model(nxt, cond=cond, cache=[_turn_back(k), np.ascontiguousarray(v)])
        return logits, state, limit
    from seqkit.models.cache import restart_window

    window = seq[:, -restart_window(limit):]
    logits, state = model(window, cond=cond, cache=None)
    return logits[:, -1:], state, window.shape[1]


def _forced(prefix, B: int):
    if prefix is None or not any(len(r) for r in prefix):
        return None, None
    if len(prefix) != B:
        raise ValueError(f"prefix has {len(prefix)} rows for a batch of {B}")
    n = max(len(r) for r in prefix)
    ids = np.array([list(r) + [0] * (n - len(r)) for r in prefix], dtype=np.int64)
    mask = np.array([[j < len(r) for j in range(n)] for r in prefix], dtype=bool)
    return ids, mask


def generate_numpy(model, prompt, max_new_tokens: int, temperature: float = 1.0, top_k: int = 0,
                   top_p: float = 1.0, cond=None, stop_ids=(), suppress_ids=(), rng=None, prefix=None,
                   stop_fn=None, on_step=None, processors=None):
    """``generate`` for a numpy model (``logits, cache = model(idx, cond=, cache=)``): the new
    tokens ``int64 [B, n]``; ``rng`` is a ``numpy.random.Generator``. ``prefix``, ``stop_fn`` and
    ``on_step`` as in ``generate`` (``stop_fn`` gets and returns numpy arrays); ``processors`` as in
    ``generate``: the same logit processors, on the same numpy arrays."""
    prompt = np.asarray(prompt, dtype=np.int64)
    if prompt.ndim != 2 or prompt.shape[1] == 0:
        raise ValueError("prompt must be a non-empty int array [B, T]")
    if not 0 <= temperature < math.inf:
        raise SeqkitError(f"temperature must be a finite number >= 0, not {temperature}")
    rng = rng if rng is not None else np.random.default_rng()
    B = prompt.shape[0]
    stop = np.array(sorted({int(s) for s in stop_ids}), dtype=np.int64)
    banned = sorted({int(s) for s in suppress_ids})
    limit = getattr(model.config, "max_len", None)
    seq = prompt if not limit else prompt[:, -limit:]
    done = np.zeros(B, dtype=bool)
    fill = np.zeros(B, dtype=np.int64)
    out = []
    new = np.empty((B, max_new_tokens), dtype=np.int64) if stop_fn is not None else None  # (no restacking)
    forced, forced_mask = _forced(prefix, B)
    history = History(prompt, max_new_tokens) if processors else None
    logits, state = model(seq, cond=cond, cache=None)
    held = seq.shape[1]
    for step in range(max_new_tokens):
        last = np.array(logits[:, -1, :], dtype=np.float32)
        if banned:
            last[:, banned] = -np.inf
        if history is not None:
            last = apply_processors(processors, history.view(), last, active=~done)
        if temperature <= 0:
            nxt = last.argmax(-1)
        else:
            nxt = sample_rows(softmax(filter_logits_numpy(last / np.float32(temperature), top_k, top_p)), rng)
        if forced is not None and step < forced.shape[1]:
            nxt = np.where(forced_mask[:, step], forced[:, step], nxt)
        nxt = np.where(done, fill, nxt).astype(np.int64)
        out.append(nxt)
        if on_step is not None:
            on_step(1)
        if history is not None:
            history.push(nxt)
        if stop.size or stop_fn is not None:
            hit = np.isin(nxt, stop) if stop.size else np.zeros(B, dtype=bool)
            if stop_fn is not None:
                new[:, step] = nxt
                hit = hit | np.asarray(stop_fn(new[:, :step + 1]), dtype=bool)
            if forced is not None and step < forced.shape[1]:
                hit = hit & ~forced_mask[:, step]
            hit = hit & ~done
            fill = np.where(hit, nxt, fill)
            done |= hit
            if done.all():
                break
        if len(out) == max_new_tokens:
            break
        if limit:  # the window a restart reads (a model without a context limit never restarts)
            seq = np.concatenate([seq, nxt[:, None]], axis=1)[:, -limit:]
        logits, state, held = _advance(model, nxt[:, None], seq, held, cond, state, limit)
    return np.stack(out, axis=1) if out else prompt[:, :0]
