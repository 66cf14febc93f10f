"""Learned conditioning of a music model on a label per piece: MAESTRO's ``canonical_composer``
(``--condition composer``) or, for any MIDI folder, each file's top subfolder (``--condition
folder``: a genre, a composer, a band ... as the folder is laid out).

The model takes core's ``cond`` (an id per row, ``model(idx, cond=...)``; the Music Transformer adds
a learned embedding of it to every input position, in torch and in its ONNX step graph alike).
The checkpoint's ``extra["cond"]`` records ``{"kind": "composer"|"folder", "values": [...]}``; the
id of ``values[i]`` is ``i + 1``, and id 0 means "none given": its embedding row is zero and no
training window uses it, so a conditioned model run without a value is the model it started from
plus what the shared weights learned. Labels with fewer than ``MIN_PIECES`` training pieces are
pooled as ``other``.
"""

from __future__ import annotations

import collections
import difflib
import unicodedata
from pathlib import Path

from seqkit import SeqkitError

KINDS = ("composer", "folder")
MIN_PIECES = 10
OTHER = "other"


def piece_labels(kind: str, data: Path, corpus) -> dict[str, str]:
    """Piece name -> its label, for every piece of ``corpus``."""
    if kind == "composer":
        folder = Path(data) if Path(data).is_dir() else Path(getattr(corpus, "source", "") or "")
        from .loaders import maestro_rows

        if not folder.is_dir():
            raise SeqkitError(f"--condition composer needs MAESTRO's metadata (canonical_composer): {data} is an "
                              "archive whose source folder is gone; give the MAESTRO folder as --data")
        rows = maestro_rows(folder)
        if "canonical_composer" not in rows[0]:
            raise SeqkitError(f"{folder}: the MAESTRO metadata has no canonical_composer column")
        composer = {r["midi_filename"]: r["canonical_composer"] for r in rows}
        missing = [p.name for p in corpus.pieces if p.name not in composer]
        if missing:
            raise SeqkitError(f"--condition composer: {missing[0]} is not in {folder}'s metadata")
        return {p.name: composer[p.name] for p in corpus.pieces}
    if kind == "folder":
        labels = {p.name: Path(p.name).parts[0] for p in corpus.pieces if len(Path(p.name).parts) > 1}
        if len(labels) < len(corpus.pieces) or len(set(labels.values())) < 2:
            raise SeqkitError("--condition folder labels each MIDI file by its top subfolder of --data "
                              "(e.g. jazz/a.mid, rock/b.mid): put the files in two or more subfolders")
        return labels
    raise SeqkitError(f"--condition {kind}: give one of {', '.join(KINDS)}")


def vocabulary(labels: dict[str, str], train_names: list[str]) -> list[str]:
    """The values a model learns: the labels with at least ``MIN_PIECES`` training pieces (all
    when none has), sorted, and ``other`` for the rest."""
    counts = collections.Counter(labels[n] for n in train_names)
    common = sorted(v for v, c in counts.items() if c >= MIN_PIECES) or sorted(counts)
    return common + ([OTHER] if set(labels.values()) - set(common) else [])


def ids(labels: dict[str, str], values: list[str]) -> dict[str, int]:
    """Piece name -> cond id (``values`` index + 1; ``other`` for labels not among them)."""
    index = {v: i + 1 for i, v in enumerate(values)}
    return {n: index.get(v, index.get(OTHER, 0)) for n, v in labels.items()}


def grow_embedding(model, n_values: int) -> None:
    """Give ``model`` a ``cond`` embedding of ``n_values + 1`` rows (row 0: none): new rows are zero,
    so the grown model computes what it computed before; rows it had are kept."""
    import torch
    from torch import nn

    old = getattr(model, "cond", None)
    n_embd = model.config.n_embd
    new = nn.Embedding(n_values + 1, n_embd).to(model.wte.weight.device, model.wte.weight.dtype)
    with torch.no_grad():
        new.weight.zero_()
        if old is not None:
            keep = min(old.num_embeddings, n_values + 1)
            new.weight[:keep] = old.weight[:keep]
    model.cond = new
    model.config.n_cond = n_values + 1


def info(meta_or_extra: dict) -> dict | None:
    """``{"kind", "values"}`` of a checkpoint (its meta or extra), or None."""
    extra = meta_or_extra.get("extra", meta_or_extra) or {}
    c = extra.get("cond")
    return c if isinstance(c, dict) and c.get("values") else None


def _fold(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", str(text)) if not unicodedata.combining(ch)).lower().strip()


def resolve(value: str, cond: dict | None, model_name: str) -> int:
    """The cond id of ``value`` (e.g. ``Chopin`` for ``Frédéric Chopin``: case and accents aside,
    the whole value or one word of it, when only one value has it); one error line otherwise."""
    flag = "--composer"
    if cond is None:
        raise SeqkitError(f"{model_name} is not conditioned on a composer or folder label (train one with "
                          "seqkit music train --condition composer)")
    values = list(cond["values"])
    want = _fold(value)
    exact = [i for i, v in enumerate(values) if _fold(v) == want]
    if not exact and want:
        exact = [i for i, v in enumerate(values) if want in _fold(v).replace("/", " ").split()]
    if len(exact) == 1:
        return exact[0] + 1
    if len(exact) > 1:
        raise SeqkitError(f"{flag} {value!r} fits {', '.join(values[i] for i in exact)}: give the whole name")
    folded = {_fold(v): v for v in values}
    close = difflib.get_close_matches(want, list(folded), n=3, cutoff=0.5)
    close += [folded[w] for w in folded for part in w.split() if difflib.SequenceMatcher(None, want, part).ratio() > 0.75
              and folded[w] not in close]
    hint = f"; closest: {', '.join(dict.fromkeys(folded.get(c, c) for c in close))}" if close else ""
    raise SeqkitError(f"{flag} {value!r} is not one of {model_name}'s {len(values)} values{hint} "
                      f"(seqkit music composers --model {model_name} lists them)")
