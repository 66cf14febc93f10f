import pytest
import torch
from seqkit_abc.generator import sample_tunes

from seqkit import CharTokenizer, SeqkitError


class Scripted(torch.nn.Module):
    """A fake LM that always predicts the next character of ``script`` (position in the cache)."""

    def __init__(self, tok, script):
        super().__init__()
        self.tok, self.ids = tok, tok.encode(script)

    def forward(self, idx, cond=None, cache=None):
        pos = (cache if cache is not None else 0) + idx.size(1)
        logits = torch.full((idx.size(0), idx.size(1), self.tok.vocab_size), -10.0)
        logits[:, -1, self.ids[min(pos, len(self.ids) - 1)]] = 10.0
        return logits, pos


def test_generation_stops_at_end():
    tok = CharTokenizer.build(["<start>\nX:1\nK:C\nCDE|\n<end>\nxyz"])
    script = "<start>\nX:1\nK:C\nCDE|\n<end>\nxyz" * 3
    model = Scripted(tok, script)
    out = sample_tunes(model, tok, "<start>\nX:", n=2, temperature=0.5, max_chars=500, constrain=False)
    assert [s.ended for s in out] == [True, True]
    assert out[0].text == "<start>\nX:1\nK:C\nCDE|\n<end>"  # nothing after <end>
    assert out[0].abc == "X:1\nK:C\nCDE|"


def test_generation_cut_at_max_chars():
    tok = CharTokenizer.build(["<start>\nX:1ABC"])
    model = Scripted(tok, "<start>\nX:1" + "ABC" * 100)
    out = sample_tunes(model, tok, "<start>\nX:", n=1, temperature=0, max_chars=7, constrain=False)
    assert out[0].text == "<start>\nX:1ABCABC" and not out[0].ended


def test_primer_with_unknown_characters():
    tok = CharTokenizer.build(["<start>\nX:1ABC"])
    with pytest.raises(SeqkitError, match="never saw: 'é', 'Z'"):
        sample_tunes(Scripted(tok, "A"), tok, "<start>\nX:éZ", n=1)
