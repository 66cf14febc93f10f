"""Tiny synthetic data shared by the core tests."""

import torch

from seqkit import CharTokenizer


def pattern_data(n=96, text="abcabd", seed=0):
    """Sequences made of one repeated pattern: easy to learn, so loss must fall fast."""
    tok = CharTokenizer.build([text])
    items = []
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        shift = int(torch.randint(len(text), (1,), generator=g))
        s = (text * 4)[shift:shift + 12]
        ids = torch.tensor(tok.encode(s, add_bos=True, add_eos=True))
        items.append({"input": ids[:-1], "target": ids[1:]})
    return tok, items
