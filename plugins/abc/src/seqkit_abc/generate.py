"""Sampling whole tunes: prime the network, then draw characters until ``<end>`` or a limit."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from seqkit import SeqkitError

from .data import END, START, unwrap


@dataclass
class Sample:
    text: str  # everything generated, primer included
    abc: str  # the tune without <start>/<end>
    ended: bool  # reached <end> (else cut at max_chars)


def number_tune(abc: str, number: int) -> str:
    """The tune with reference number ``X:number``: its first ``X:`` line (whatever number the
    model wrote, if any) is replaced, or one is put first when it has none."""
    lines = abc.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith("X:"):
            lines[i] = f"X:{number}"
            return "\n".join(lines)
    return f"X:{number}\n{abc}" if abc else f"X:{number}"


def encode_primer(tok, primer: str) -> list[int]:
    if not primer:
        raise SeqkitError("the primer is empty")
    missing = tok.unknown(primer)
    if missing:
        shown = ", ".join(repr(c) for c in missing[:10])
        raise SeqkitError(f"the primer has characters the model never saw: {shown}")
    return tok.encode(primer)


@torch.no_grad()
def sample_tunes(model, tok, primer: str, n: int = 1, temperature: float = 1.0,
                 max_chars: int = 1000, generator: torch.Generator | None = None,
                 device="cpu", on_step=None) -> list[Sample]:
    """``n`` tunes sampled in one batch; special tokens (pad, unk ...) are never drawn.
    ``on_step(1)`` is called after each character step (progress)."""
    if n < 1:
        raise SeqkitError("--count must be at least 1")
    if max_chars < 1:
        raise SeqkitError("--max-chars must be at least 1")
    if not 0 <= temperature < float("inf"):  # also rejects nan
        raise SeqkitError(f"--temperature must be a finite number >= 0, not {temperature}")
    ids = encode_primer(tok, primer)
    model.eval()
    idx = torch.tensor([ids] * n, dtype=torch.long, device=device)
    logits, state = model(idx)
    banned = torch.tensor([tok.stoi[s] for s in tok.specials], dtype=torch.long, device=device)
    texts = [primer] * n
    done = [END in primer] * n
    for _ in range(max_chars):
        last = logits[:, -1, :].float()
        last[:, banned] = float("-inf")
        if temperature <= 0:
            nxt = last.argmax(-1)
        else:
            probs = (last / temperature).softmax(-1)
            nxt = torch.multinomial(probs, 1, generator=generator)[:, 0]
        for r, i in enumerate(nxt.tolist()):
            if not done[r]:
                texts[r] += tok.itos[i]
                done[r] = texts[r].endswith(END) or (texts[r].endswith(START)
                                                     and len(texts[r]) > len(primer))
        if on_step is not None:
            on_step(1)
        if all(done):
            break
        logits, state = model(nxt[:, None], cache=state)
    out = []
    for t in texts:
        abc, ended = unwrap(t)
        out.append(Sample(t, abc, ended))
    return out
