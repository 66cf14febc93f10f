"""What training reads: the fixed character vocabulary, the datasets and batches of the
generators and of the classifier, and the oversampling of small countries. The recipe of
``seqkit names train`` (architectures, defaults, export) is in ``training.py``.
"""

from __future__ import annotations

from .data import ALPHABET

TASK = "names"
GENERATORS = ("rnn", "lstm", "gru", "transformer")
MAX_NAME = 30  # characters; the transformer's context is MAX_NAME + 2


def make_tokenizer():
    """The fixed character vocabulary: the 4 specials + ASCII letters, space, ' and -."""
    from seqkit import CharTokenizer

    return CharTokenizer(sorted(ALPHABET))


# ---------------------------------------------------------------- datasets and batches

class Items:
    """A map-style dataset over a list."""

    def __init__(self, items: list):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def lm_items(pairs, tok) -> Items:
    return Items([(tok.encode(n, add_bos=True, add_eos=True), c) for n, c in pairs])


def lm_collate(items, pad_id: int) -> dict:
    """``{"input", "target" (-100 = ignore), "cond"}`` from ``(ids, country)`` pairs."""
    import torch

    length = max(len(ids) for ids, _ in items) - 1
    inp = torch.full((len(items), length), pad_id, dtype=torch.long)
    tgt = torch.full((len(items), length), -100, dtype=torch.long)
    for i, (ids, _) in enumerate(items):
        ids = torch.tensor(ids, dtype=torch.long)
        inp[i, : len(ids) - 1] = ids[:-1]
        tgt[i, : len(ids) - 1] = ids[1:]
    cond = torch.tensor([c for _, c in items], dtype=torch.long)
    return {"input": inp, "target": tgt, "cond": cond}


def class_weights(pairs, n_classes: int, power: float = 1.0) -> list[float]:
    """Per-country weights ``(1 / count) ** power``, normalised to a mean of 1 per name.

    ``power=1`` balances the countries fully (each one weighs as much as any other in the loss),
    which is what the eval's per-country averaged agreement needs.
    """
    counts = [0] * n_classes
    for _, c in pairs:
        counts[c] += 1
    raw = [(1.0 / n ** power if n else 0.0) for n in counts]
    mean = sum(r * n for r, n in zip(raw, counts)) / max(1, sum(counts))
    return [r / mean for r in raw]


def oversample(pairs, n_classes: int, power: float = 0.5, cap: int = 0) -> list:
    """Repeat each country's training names ``round((mean / count) ** power)`` times (at least once,
    at most ``cap`` times when ``cap`` > 0), so that the small countries (Vietnamese: 63 training
    names, Russian 8,400) are seen often enough for the conditioning to learn them. ``power=0``
    turns it off; the cap keeps the tiniest countries from being memorised."""
    counts = [0] * n_classes
    for _, c in pairs:
        counts[c] += 1
    mean = sum(counts) / max(1, sum(1 for n in counts if n))
    repeat = [max(1, round((mean / n) ** power)) if n else 0 for n in counts]
    if cap > 0:
        repeat = [min(r, cap) for r in repeat]
    return [p for p in pairs for _ in range(repeat[p[1]])]


def classifier_items(pairs, tok, weights) -> Items:
    return Items([(tok.encode(n), c, weights[c]) for n, c in pairs])


def classifier_collate(items, pad_id: int) -> dict:
    import torch

    from seqkit import pad_sequences

    return {"input": pad_sequences([ids for ids, _, _ in items], pad_id),
            "target": torch.tensor([c for _, c, _ in items], dtype=torch.long),
            "weight": torch.tensor([w for _, _, w in items], dtype=torch.float)}
