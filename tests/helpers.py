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


def bundled_plugins_installed() -> bool:
    """Whether the plugins that come with seqkit are importable (not so for `nox -s core`)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in
               ("seqkit_names", "seqkit_numerals", "seqkit_abc", "seqkit_midi_transformer", "seqkit_compressive"))


def needs_bundled_plugins(test):
    """Skip ``test`` where the bundled plugins are not installed (core tested alone)."""
    import pytest

    return pytest.mark.skipif(not bundled_plugins_installed(),
                              reason="needs the bundled plugins (core alone: nox -s core)")(test)
