"""What `seqkit text eval` measures: cross-entropy per token over non-overlapping windows of a
text file. Options, device, threads, JSON and errors are seqkit's (the eval kit)."""

from __future__ import annotations

import math

from seqkit import EvalRecipe, Param

TEXT_EVAL = EvalRecipe(
    task="text",
    evaluate="seqkit_text.evaluation:evaluate",
    params=[Param("text_file", "file", None, "UTF-8 text to score (e.g. a held-out file).", argument=True)],
    default_models=("default",),
    render="seqkit_text.evaluation:render",
    description="Score TEXT_FILE: cross-entropy per token (nats and bits) over non-overlapping windows.",
)


def evaluate(run) -> dict:
    import torch

    from seqkit import SeqkitError, list_checkpoints, lm_loss

    from .data import read_text, windows

    if run.models == ["default"] and not list_checkpoints("text"):
        raise SeqkitError("no text model yet: train one with `seqkit text train --data corpus.txt`")
    text_file = run.options["text_file"]
    ckpt = run.load(run.models[0])
    tok, batch_size = ckpt.tokenizer, run.batch_size or 64
    text = read_text(text_file)
    ds = windows(text, tok, int(ckpt.extra.get("context") or 128), what=f"file {text_file}")
    count = min(len(ds), run.limit or len(ds))
    loss_sum = n_tokens = n_correct = 0
    with torch.no_grad():
        for start in range(0, count, batch_size):
            items = [ds[i] for i in range(start, min(start + batch_size, count))]
            batch = {k: torch.stack([it[k] for it in items]).to(run.device) for k in ("input", "target")}
            loss, n, correct = lm_loss(ckpt.model, batch)
            loss_sum, n_tokens, n_correct = loss_sum + float(loss) * int(n), n_tokens + int(n), n_correct + int(correct)
            run.progress(start + len(items), count, "scoring windows")
    loss = loss_sum / n_tokens
    unknown = tok.unknown(text) if hasattr(tok, "unknown") else []
    return {"model": str(ckpt.path), "file": str(text_file), "tokens": int(n_tokens),
            "loss": loss, "bits_per_token": loss / math.log(2), "accuracy": n_correct / n_tokens,
            "tokenizer": tok.type, "unknown_symbols": len(unknown)}


def render(scores: dict) -> str:
    unit = {"char": "char", "bytes": "byte"}.get(scores["tokenizer"], "token")
    return (f"{scores['file']}: {scores['bits_per_token']:.3f} bits/{unit} "
            f"(loss {scores['loss']:.4f} nats, next-{unit} accuracy {scores['accuracy']:.1%}) "
            f"over {scores['tokens']} {unit}s")
