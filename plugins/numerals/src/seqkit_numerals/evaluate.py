"""Exact-match and token accuracy of a model against num2words, in and out of its range.

* exact: the whole output equals num2words' text.
* token accuracy: output and reference are split into tokens (words, hyphens) and compared position
  by position; matches / max(len(output), len(reference)), summed over the set.
"""

from __future__ import annotations

import random

PROBES = (101001001001, 1001001001001)


def score(translator, pairs: list[tuple[int, str]]) -> dict:
    """``{"n", "exact", "token_acc", "errors": [(n, got, want) ...first 20]}`` over the pairs."""
    numbers = [n for n, _ in pairs]
    got = translator.words(numbers)
    split = translator.tgt_tok.split
    exact = matched = total = 0
    errors = []
    for (n, want), out in zip(pairs, got):
        if out == want:
            exact += 1
        elif len(errors) < 20:
            errors.append((n, out, want))
        a, b = split(out), split(want)
        matched += sum(x == y for x, y in zip(a, b))
        total += max(len(a), len(b))
    k = len(pairs)
    return {"n": k, "exact": exact / k if k else 0.0, "token_acc": matched / total if total else 0.0,
            "errors": errors}


def uniform_numbers(lo: int, hi: int, count: int, seed: int, exclude=frozenset()) -> list[int]:
    """``count`` distinct integers drawn uniformly from [lo, hi), none of them in ``exclude``."""
    rng = random.Random(seed)
    count = min(count, hi - lo - len(exclude))
    seen: dict[int, None] = {}
    while len(seen) < count:
        n = rng.randrange(lo, hi)
        if n not in exclude:
            seen.setdefault(n)
    return list(seen)


def log_uniform_numbers(lo: int, hi: int, count: int, seed: int) -> list[int]:
    """``count`` integers in [lo, hi) with a uniform number of digits."""
    rng = random.Random(seed)
    d_lo, d_hi = len(str(lo)), len(str(hi - 1))
    out = []
    while len(out) < count:
        d = rng.randint(d_lo, d_hi)
        n = rng.randrange(max(lo, 10 ** (d - 1)), min(hi, 10**d))
        out.append(n)
    return out


def eval_sets(spec, splits: dict, count: int = 1000, seed: int = 1) -> list[tuple[str, list[tuple[int, str]]]]:
    """Named lists of (number, reference): the unseen test split, uniform in-range numbers never
    seen in training, every small integer (the rarest magnitudes in the data), numbers from max to
    1000*max (out of range) and the probes."""
    from .numbers import num2words_limit, power_text, reference_words

    seen = frozenset(n for part in splits.values() for n, _ in part)
    lang = spec.lang

    def ref(numbers):
        return [(n, reference_words(n, lang)) for n in numbers]

    sets = [(f"test split (unseen, {len(splits['test'])} numbers)", splits["test"])]
    unseen = uniform_numbers(0, spec.max, count, seed, exclude=seen)
    if unseen:  # (a small range may be in the data entirely)
        sets.append((f"uniform in [0, {power_text(spec.max)}), unseen", ref(unseen)))
    small = list(range(-99 if spec.negatives > 0 else 0, min(1000, spec.max)))
    sets.append((f"every integer in [{small[0]}, {small[-1] + 1}) (most seen in training)", ref(small)))
    hi = spec.max * 1000
    limit = num2words_limit(lang)
    if limit is not None:  # no reference beyond what num2words writes (a model trained up to 10^305)
        hi = min(hi, limit)
    if hi > spec.max:
        sets.append((f"out of range: [{power_text(spec.max)}, {power_text(hi)})",
                     ref(log_uniform_numbers(spec.max, hi, count, seed))))
    for p in PROBES:
        sets.append((f"{p:,}" + ("" if spec.in_range(p) else " (out of range)"), ref([p])))
    return sets


def evaluate(translator, count: int = 1000, seed: int = 1, progress: bool = True) -> list[dict]:
    """One row per evaluation set: name, n, exact, token_acc, and the first errors."""
    from .data import load_splits

    splits = load_splits(translator.spec, progress=progress)
    rows = []
    for name, pairs in eval_sets(translator.spec, splits, count=count, seed=seed):
        r = score(translator, pairs)
        rows.append({"set": name, **r})
    return rows
