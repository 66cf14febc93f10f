"""Loading what the music generators, ``music eval`` and ``music score`` run on: the model (a
music checkpoint by name or path, on torch or ONNX Runtime) and the primer's tokens. Torch and
the MIDI libraries are imported inside the functions.
"""

from __future__ import annotations

import os
from pathlib import Path

from seqkit import SeqkitError

DEFAULT_MODEL = "music-transformer"

TASK = "music"


def _info(msg: str) -> None:
    from seqkit import info

    info(msg)


# -- models -------------------------------------------------------------------------------------

def load_music_model(spec: str | None, device: str = "auto", inference: bool = False):
    """A loaded music checkpoint (``seqkit.io.Checkpoint``) from a name or a path. ``inference``: on
    ONNX Runtime where the checkpoint has graphs and the device is the CPU (``ckpt.backend``, see
    ``seqkit.load_for_inference``; no torch imported then), else torch."""
    from seqkit import CheckpointError, find_checkpoint, list_checkpoints

    spec = spec or DEFAULT_MODEL
    try:
        path = find_checkpoint(spec, TASK)
    except CheckpointError:
        # another plugin may ship music checkpoints under its own task
        rows = [r for r in list_checkpoints(None) if r["name"] == spec and r.get("task") == TASK]
        if not rows:
            raise
        path = Path(rows[0]["path"])
    if inference and str(device).strip().lower() in ("cpu", "auto"):
        from seqkit import load_for_inference

        ckpt = load_for_inference(path, str(device).strip().lower(), expect_task=TASK)
    else:
        from seqkit import load_checkpoint, pick_device

        ckpt = load_checkpoint(path, device=pick_device(device), expect_task=TASK)
    from .sources import TOKENIZER_NEEDS

    missing = [m for m in TOKENIZER_NEEDS if not hasattr(ckpt.tokenizer, m)]
    if missing:
        kind = getattr(ckpt.tokenizer, "type", type(ckpt.tokenizer).__name__)
        raise SeqkitError(f"{path}: its tokenizer ({kind}) is not a music tokenizer (no {', '.join(missing)})")
    model_vocab = getattr(getattr(ckpt.model, "config", None), "vocab_size", None)
    tok_vocab = getattr(ckpt.tokenizer, "vocab_size", None)
    if model_vocab is not None and tok_vocab is not None and model_vocab != tok_vocab:
        raise SeqkitError(f"{path}: its tokenizer has {tok_vocab} tokens but the model was built for {model_vocab}")
    return ckpt


# -- primer -------------------------------------------------------------------------------------

def primer_tokens(path: Path, tokenizer, seconds: float | None, n_tokens: int | None,
                  max_seconds: float | None = None) -> tuple[list[int], dict]:
    """``[<bos>] + events`` of a primer file, cut to its first ``seconds`` / ``n_tokens``; refused
    if (after the cut) its music lasts more than ``max_seconds`` (see ``bounds.py``)."""
    import numpy as np

    from .bounds import check_primer_seconds

    if not hasattr(tokenizer, "encode_notes"):
        return primer_tokens_generic(path, tokenizer, seconds, n_tokens, max_seconds)

    notes = tokenizer.notes(path)
    info = {"primer": str(path)}
    if len(notes) == 0 and not tokenizer.drums:
        notes = tokenizer.notes(path, drums=True)
        if len(notes):
            _info(f"{path} has only drum notes; using them as piano notes")
            info["drum_primer"] = True
    if len(notes) == 0:
        raise SeqkitError(f"{path} has no notes to continue")
    if seconds:
        notes = notes[notes[:, 0] < seconds]
        notes[:, 1] = np.minimum(notes[:, 1], seconds)
        if len(notes) == 0:
            raise SeqkitError(f"{path} has no notes in its first {seconds:g} s")
    check_primer_seconds(path, float(notes[:, 1].max()), max_seconds)
    ids = [tokenizer.bos_id] + tokenizer.encode_notes(notes)
    if n_tokens:
        ids = ids[: n_tokens]
    return ids, info


def primer_tokens_generic(path: Path, tokenizer, seconds: float | None, n_tokens: int | None,
                          max_seconds: float | None = None) -> tuple[list[int], dict]:
    """The primer through any music tokenizer's ``encode`` (notes after ``seconds`` dropped first)."""
    from .bounds import check_primer_seconds
    from .midi_read import cut_seconds, end_seconds, load_midi

    score = load_midi(path)
    if seconds:
        score = cut_seconds(score, seconds)
    check_primer_seconds(path, end_seconds(score), max_seconds)
    ids = tokenizer.encode(score)
    if not ids:
        raise SeqkitError(f"{path} has no notes to continue"
                          + (f" in its first {seconds:g} s" if seconds else "")
                          + f" (as the {getattr(tokenizer, 'type', 'model')} tokenizer reads it)")
    unk = getattr(tokenizer, "unk_id", None)
    info = {"primer": str(path)}
    if unk is not None and unk in ids:
        info["unknown_tokens"] = ids.count(unk)
        _info(f"{ids.count(unk)} of the primer's {len(ids)} tokens are not in the model's vocabulary (<unk>)")
    ids = [tokenizer.bos_id] + ids
    if n_tokens:
        ids = ids[: n_tokens]
    return ids, info


def cut_notice(prompt: list[int], limit: int, tok) -> str:
    """One line: a primer longer than the context is cut to its last part; how much, and how to
    choose another part."""
    told = f"{len(prompt):,} tokens"
    kept = f"{limit:,} tokens"
    if hasattr(tok, "token_seconds"):
        times = tok.token_seconds(prompt)
        told += f", {float(times[-1]):.1f} s"
        kept += f", from {float(times[-limit]):.1f} s on"
    return (f"the primer ({told}) is longer than the model's context: continuing its last {kept}; "
            f"to continue its beginning instead, give --primer-seconds S or --primer-tokens N")


# -- sampling -----------------------------------------------------------------------------------

def cpu_threads(model, batch: int) -> None:
    """One thread for small-batch sampling on the CPU (unless OMP_NUM_THREADS says otherwise):
    one-token matmuls are too small to share, and on a busy machine extra threads spin-wait
    (measured here: 512 tokens in 12.8 s on one thread, 165 s on two, load average 13)."""
    import torch

    if next(model.parameters()).device.type == "cpu" and batch <= 4 and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
