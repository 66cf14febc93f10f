"""Training a numerals model with core's Trainer and exporting it as a named checkpoint."""

from __future__ import annotations

from pathlib import Path

from seqkit import SeqkitError

from .data import (
    Collate,
    DataSpec,
    LengthBatches,
    PairDataset,
    balance_magnitudes,
    load_splits,
    source_tokenizer,
    target_tokenizer,
)

ARCHS = {"gru": "gru-seq2seq", "transformer": "transformer-seq2seq"}

# Small enough to train on a laptop CPU and ship (< 10 MB in float16).
DEFAULT_MODEL = {
    "gru": dict(n_embd=64, hidden=192, n_layer=1),
    "transformer": dict(n_embd=128, n_layer=2, n_head=4, d_ff=512),
}
DEFAULT_LR = {"gru": 2e-3, "transformer": 1e-3}


def make_model(arch: str, config):
    """The ``arch`` model for ``config``; settings the model rejects are one ``SeqkitError`` line."""
    from seqkit import get_model_type

    try:
        return get_model_type(ARCHS[arch]).build(config)
    except (ValueError, TypeError) as exc:
        raise SeqkitError(f"invalid {arch} settings: {exc}") from None


def check_settings(arch: str, model_overrides: dict | None = None) -> None:
    """Build ``arch`` once with these settings (tiny vocabularies), so that a bad one fails before
    the data is built."""
    from seqkit import Seq2SeqConfig

    if arch not in ARCHS:
        raise SeqkitError(f"unknown model {arch!r}; use {' or '.join(ARCHS)}")
    try:
        config = Seq2SeqConfig(src_vocab=8, tgt_vocab=8, **{**DEFAULT_MODEL[arch], **(model_overrides or {})})
    except (ValueError, TypeError) as exc:
        raise SeqkitError(f"invalid {arch} settings: {exc}") from None
    make_model(arch, config)


def train(arch: str, spec: DataSpec, *, out: Path, run_dir: Path, train_config: dict,
          model_overrides: dict | None = None, resume: bool = False, progress: bool = True,
          balance: bool = True, export: str = "best") -> dict:
    """Train ``arch`` on ``spec``; export the best (lowest validation loss) or the last weights to
    ``out`` as float16; return the trainer's result plus ``checkpoint`` (the exported path) and ``test`` (exact/token accuracy on the test split)."""
    import torch

    from seqkit import Seq2SeqConfig, TrainConfig, Trainer, export_checkpoint, export_onnx, seq2seq_loss

    from .evaluate import score

    if arch not in ARCHS:
        raise SeqkitError(f"unknown model {arch!r}; use {' or '.join(ARCHS)}")
    if export not in ("best", "last"):
        raise SeqkitError(f"--export must be best or last, not {export!r}")
    splits = load_splits(spec, progress=progress)
    src_tok = source_tokenizer()
    tgt_tok = target_tokenizer(w for _, w in splits["train"])
    train_pairs = balance_magnitudes(splits["train"]) if balance else splits["train"]
    train_set = PairDataset(train_pairs, src_tok, tgt_tok)
    val_set = PairDataset(splits["val"], src_tok, tgt_tok)
    longest = max(len(t) for t in train_set.tgt)
    settings = {**DEFAULT_MODEL[arch], **(model_overrides or {})}
    config = Seq2SeqConfig(src_vocab=src_tok.vocab_size, tgt_vocab=tgt_tok.vocab_size,
                           src_pad_id=src_tok.pad_id, tgt_pad_id=tgt_tok.pad_id,
                           max_len=max(256, 2 * longest), **settings)
    model_type = ARCHS[arch]
    torch.manual_seed(train_config.get("seed", 0))
    model = make_model(arch, config)
    batch_size = train_config.get("batch_size", 128)
    tc = TrainConfig(**{**train_config, "batch_size": 1})  # each item is a batch (LengthBatches)
    seed = train_config.get("seed", 0)
    trainer = Trainer(
        model, tc, LengthBatches(train_set, batch_size, seed), LengthBatches(val_set, batch_size, seed), collate=Collate(src_tok.pad_id, tgt_tok.pad_id),
        loss_fn=seq2seq_loss, out=run_dir,
        checkpoint=dict(model_type=model_type, config=config, tokenizer=tgt_tok, task="numerals",
                        data={**spec.to_dict(), "balanced": balance},
                        extra={"arch": arch, "src_tokenizer": src_tok.to_dict(), "source": "reversed digits, sign last",
                               "trained_range": [spec.low, spec.max]}),
    )
    result = trainer.fit(resume=resume)
    if result.get("interrupted") and not result.get("history"):
        # Ctrl-C before the first validation: nothing validated to export, and ``out`` may hold a
        # model the user relies on (by default their own MODEL-LANG)
        result["test"] = result["checkpoint"] = None
        return result
    from .translate import Translator

    chosen = trainer.best_path if export == "best" else trainer.last_path
    best = Translator.load(str(chosen), device=tc.device)
    test = score(best, splits["test"])
    result["test"] = test
    metrics = {"test_exact": test["exact"], "test_token_acc": test["token_acc"], "test_n": test["n"],
               "val_loss": result.get("best_val_loss"), "val_acc": result.get("best_val_acc"),
               "steps": result["steps"], "train_seconds": round(result.get("seconds", 0.0), 1)}
    metrics["exported"] = export
    result["checkpoint"] = str(export_checkpoint(chosen, out, dtype="float16", metrics=metrics))
    export_onnx(result["checkpoint"], strict=False)  # graphs for ONNX Runtime (else torch serves it)
    return result
