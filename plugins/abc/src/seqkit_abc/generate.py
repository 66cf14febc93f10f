"""Sampling whole tunes: prime the network, then draw characters until ``<end>`` or a limit.

The model is a torch module (sampled by ``seqkit.generate`` with a ``torch.Generator``) or an
ONNX Runtime step graph (``seqkit.OnnxLM``, sampled by ``seqkit.generate_numpy`` with a numpy
``Generator``): one loop, one stop rule, two backends. Importing this module imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from seqkit import SeqkitError

from .data import END, START, unwrap

if TYPE_CHECKING:
    import torch


@dataclass
class Sample:
    text: str  # everything generated, primer included
    abc: str  # the tune without <start>/<end>
    ended: bool  # reached <end> (else cut at max_chars)
    capped: bool = False  # wound up at the length cap (ended at a bar line by the format mask)


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


def is_torch_model(model) -> bool:
    """A torch module (else an ONNX Runtime runner such as ``seqkit.OnnxLM``)."""
    return callable(getattr(model, "parameters", None))


def sample_tunes(model, tok, primer: str, n: int = 1, temperature: float = 1.0,
                 max_chars: int = 1000, generator: torch.Generator | None = None,
                 device="cpu", on_step=None, constrain: bool = True, key: str | None = None,
                 meter: str | None = None, unit: str | None = None) -> list[Sample]:
    """``n`` tunes sampled in one batch by ``seqkit.generate`` (torch model; ``generator`` a
    ``torch.Generator``) or ``seqkit.generate_numpy`` (ONNX model; ``generator`` a numpy
    ``Generator``); special tokens (pad, unk ...) are never drawn, and a tune ends at ``<end>``
    (several characters: a stop callback) or at a new ``<start>``. ``on_step(1)`` is called after
    each character step (progress).

    ``constrain``: the ABC format mask (``constraints.AbcFormat``: known header fields and
    values, ``<end>`` at a bar line near the cap); ``key``/``meter``/``unit`` fix ``K:``/``M:``/``L:``."""
    if n < 1:
        raise SeqkitError("--count must be at least 1")
    if max_chars < 1:
        raise SeqkitError("--max-chars must be at least 1")
    if not 0 <= temperature < float("inf"):  # also rejects nan
        raise SeqkitError(f"--temperature must be a finite number >= 0, not {temperature}")
    ids = encode_primer(tok, primer)
    texts = [primer] * n
    ended = [END in primer] * n

    def at_end(new) -> list[bool]:
        """Rows whose text now ends with ``<end>`` (or starts a new tune)."""
        for r, i in enumerate(new[:, -1].tolist()):
            if not ended[r]:
                texts[r] += tok.itos[i]
                ended[r] = texts[r].endswith(END) or (texts[r].endswith(START) and len(texts[r]) > len(primer))
        return ended

    fmt = format_processor(tok, max_chars, constrain, key, meter, unit)  # checks --key ... first
    if not all(ended):
        banned = [tok.stoi[s] for s in tok.specials]
        decode(model, [ids] * n, max_chars, temperature=temperature, suppress_ids=banned, rng=generator,
               on_step=on_step, stop_fn=at_end, device=device, processors=[fmt] if fmt else None)
    capped = fmt.capped if fmt and fmt.capped else [False] * n
    out = []
    for t, cap in zip(texts, capped):
        abc, ended_ = unwrap(t)
        out.append(Sample(t, abc, ended_, cap))
    return out


def decode(model, rows: list[list[int]], max_new: int, rng=None, device="cpu", **kwargs):
    """The new tokens after ``rows`` (one length), by ``seqkit.generate`` for a torch model or
    ``seqkit.generate_numpy`` for an ONNX one; ``kwargs`` are the sampling options both take
    (``temperature``, ``suppress_ids``, ``stop_fn``, ``on_step`` ...)."""
    if is_torch_model(model):
        import torch

        from seqkit import generate

        idx = torch.tensor(rows, dtype=torch.long, device=device)
        with torch.no_grad():
            return generate(model, idx, max_new, generator=rng, **kwargs).tolist()
    import numpy as np

    from seqkit import generate_numpy

    return generate_numpy(model, np.array(rows, dtype=np.int64), max_new, rng=rng, **kwargs).tolist()


def format_processor(tok, max_chars: int, constrain: bool = True, key=None, meter=None, unit=None):
    """The ABC format mask for ``generate``/``generate_numpy`` (``processors=[...]``), or None."""
    from .grammar import check_fixed

    check_fixed(key, meter, unit)
    if not constrain:
        if key or meter or unit:
            raise SeqkitError("--key, --meter and --unit need the format mask (drop --unconstrained)")
        return None
    from .constraints import AbcFormat

    return AbcFormat(tok, max_chars, key=key, meter=meter, unit=unit)
