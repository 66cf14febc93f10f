"""Sampling from any seqkit language model: the one sampling loop of seqkit.

Temperature, top-k, top-p, batches, suppressed ids, logit processors, forced prefixes, stop ids and
a stop callback, conditioning, a progress callback. ``generate`` advances the model's cache (``seqkit.models.cache``:
``model.new_cache()`` for Transformers, the returned recurrent state for RNNs, the compressive
model's memories), so each step costs one token's work, also past the model's context.
"""

from __future__ import annotations

import math

import torch

from seqkit.errors import SeqkitError
from seqkit.generation.logit_processors import History, apply_processors


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


def _forced(prefix, B: int, device):
    """``prefix`` (a list of token lists, one per row; rows may differ in length) as a padded
    ``[B, n]`` tensor and a mask of the positions that are forced."""
    if prefix is None:
        return None, None
    rows = [list(map(int, r)) for r in prefix]
    if len(rows) != B:
        raise ValueError(f"prefix has {len(rows)} rows for a batch of {B}")
    n = max((len(r) for r in rows), default=0)
    if n == 0:
        return None, None
    ids = torch.tensor([r + [0] * (n - len(r)) for r in rows], dtype=torch.long, device=device)
    mask = torch.tensor([[j < len(r) for j in range(n)] for r in rows], dtype=torch.bool, device=device)
    return ids, mask


@torch.no_grad()
def generate(model, prompt, max_new_tokens: int, temperature: float = 1.0, top_k: int = 0,
             top_p: float = 1.0, cond=None, stop_ids=(), suppress_ids=(),
             generator: torch.Generator | None = None, use_cache: bool = True, on_step=None,
             prefix=None, stop_fn=None, processors=None):
    """Sample ``max_new_tokens`` after ``prompt`` (``LongTensor[B, T]``, same length per row) from
    any model that follows the cache protocol (``seqkit.models.cache``).

    Returns the new tokens ``[B, n]`` (``n <= max_new_tokens``: generation ends early once every
    row has finished; a finished row is filled with its last token: its stop token).

    * ``temperature=0`` is greedy; ``top_k``/``top_p`` filter the distribution (``filter_logits``).
    * ``suppress_ids`` are never produced (e.g. ``<pad>``/``<bos>``, which a model sees only as input).
    * ``prefix``: per row, tokens forced at the start of the new tokens (rows may differ in length,
      e.g. the first letters of names); the rows draw their random numbers all the same, so a row's
      samples do not depend on the other rows' prefixes.
    * ``stop_ids`` end a row when produced; ``stop_fn(new)`` (``new``: the new tokens so far,
      ``[B, n]``) returns a ``BoolTensor[B]`` of rows that end now (markers of several tokens, such
      as ABC's ``<end>``).
    * ``processors``: logit processors (``seqkit.generation.logit_processors``), called in order at every
      step with the tokens so far (prompt included) and the logits, before temperature, top-k and
      top-p; they bias or mask (``-inf``) what may come next. The same processors work in
      ``generate_numpy``.
    * ``cond``: the per-row conditioning the model takes (e.g. class ids).
    * ``on_step(1)`` is called after each new token (e.g. ``advance`` of ``progress_steps``).

    A prompt longer than the model's ``max_len`` is cut to its end. Past the context the cache
    slides by itself (one token's work per step); ``use_cache=False`` recomputes the last
    ``max_len`` tokens at every step instead (a slow reference).
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
    forced, forced_mask = _forced(prefix, B, device)
    limit = _max_len(model)
    seq = prompt if not limit else prompt[:, -limit:]
    done = torch.zeros(B, dtype=torch.bool, device=device)
    fill = torch.zeros(B, dtype=torch.long, device=device)
    out = []
    new = torch.empty(B, max_new_tokens, dtype=torch.long, device=device) if stop_fn is not None else None
    cache = _start_cache(model) if use_cache else None
    history = History(prompt.cpu().numpy(), max_new_tokens) if processors else None
    logits, cache = model(seq, cond=cond, cache=cache)
    for step in range(max_new_tokens):
        last = logits[:, -1, :].float()
        if banned.numel():
            last = last.index_fill(-1, banned, float("-inf"))
        if history is not None:
            last = torch.from_numpy(apply_processors(processors, history.view(), last.cpu().numpy(),
                                                     active=~done.cpu().numpy())).to(device)
        if temperature <= 0:
            nxt = last.argmax(-1)
        else:
            probs = filter_logits(last / temperature, top_k, top_p).softmax(-1)
            try:
                nxt = torch.multinomial(probs, 1, generator=generator)[:, 0]
            except RuntimeError as exc:  # nan or inf: a model whose weights or inputs are broken
                raise SeqkitError(f"the model's next-token probabilities are not numbers ({exc}); "
                                  "its weights may be damaged") from None
        if forced is not None and step < forced.size(1):
            nxt = torch.where(forced_mask[:, step], forced[:, step], nxt)
        nxt = torch.where(done, fill, nxt)
        out.append(nxt)
        if history is not None:
            history.push(nxt.cpu().numpy())
        if on_step is not None:
            on_step(1)
        if stop.numel() or stop_fn is not None:
            hit = torch.isin(nxt, stop) if stop.numel() else torch.zeros_like(done)
            if stop_fn is not None:
                new[:, step] = nxt
                hit = hit | torch.as_tensor(stop_fn(new[:, :step + 1]), dtype=torch.bool, device=device)
            if forced is not None and step < forced.size(1):
                hit = hit & ~forced_mask[:, step]  # a forced token never ends a row
            hit = hit & ~done
            fill = torch.where(hit, nxt, fill)
            done |= hit
            if bool(done.all()):
                break
        if len(out) == max_new_tokens:
            break
        if use_cache:
            logits, cache = model(nxt[:, None], cond=cond, cache=cache)
        else:
            seq = torch.cat([seq, nxt[:, None]], dim=1)
            seq = seq[:, -limit:] if limit else seq
            logits, _ = model(seq, cond=cond, cache=None)
    model.train(was_training)
    return torch.stack(out, dim=1) if out else prompt[:, :0]
