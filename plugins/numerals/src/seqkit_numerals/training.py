"""What `seqkit numerals train` needs that is its own: the num2words pairs, the two seq2seq
architectures and their defaults, the test-split score and a float16 export with ONNX graphs.
Everything else (options, checks, the Trainer, the export rule) is seqkit's train kit."""

from __future__ import annotations

from seqkit import Arch, Param, Prepared, SeqkitError, TrainRecipe

# Small enough to train on a laptop CPU and ship (< 10 MB in float16).
NUMERALS_TRAINING = TrainRecipe(
    task="numerals",
    prepare="seqkit_numerals.training:prepare",
    archs={
        "gru": Arch("gru-seq2seq", {"n_embd": 64, "hidden": 192, "n_layer": 1}, train={"lr": 2e-3}),
        "transformer": Arch("transformer-seq2seq", {"n_embd": 128, "n_layer": 2, "n_head": 4, "d_ff": 512},
                            train={"lr": 1e-3}),
    },
    params=[
        Param("max", "str", "1e9", "Numbers lie below this bound (1e9, 1e15, 1000000 ...)."),
        Param("size", "int", 100_000, "How many distinct numbers (split 90/5/5 into train/val/test)."),
        Param("lang", "str", "en", "Any language num2words supports: en, fr, de, es ..."),
        Param("sampling", "choice", "digits", "digits: every digit count equally often, zero groups common; "
              "uniform: uniform over the range.", choices=("digits", "uniform")),
        Param("negatives", "float", 0.05, "Share of negative numbers (0 = none)."),
        Param("balance", "bool", True, "Repeat numbers of rare digit counts (1-3 digits) in training.",
              flags=("--balance/--no-balance",)),
        Param("save_weights", "choice", "best", "Which weights --save gets: best (lowest validation loss) "
              "or last (a run stopped by Ctrl-C saves its best).", choices=("best", "last")),
    ],
    train={"epochs": 5, "batch_size": 128, "warmup_steps": 200, "schedule": "cosine"},
    description="Train a gru or transformer model on num2words pairs, score it on the test split and "
                "save its float16 weights and ONNX graphs (--save NAME; default ARCH-LANG, e.g. gru-en).",
    save_as="{arch}-{lang}",
)

IGNORED = {"gru": ("n_head", "d_ff"), "transformer": ("hidden",)}  # settings an architecture does not use


def data_spec(options: dict, seed: int):
    """The ``DataSpec`` of the data options (``--max --size --lang --sampling --negatives``)."""
    from .data import DataSpec
    from .numbers import check_lang, parse_bound

    return DataSpec(lang=check_lang(options["lang"]), max=parse_bound(options["max"]), size=options["size"],
                    sampling=options["sampling"], negatives=options["negatives"], seed=seed)


def check_model(run) -> None:
    """Before the data is built: settings the architecture does not use, and what only building
    the model finds (a Transformer's n_embd 128 that n_head 3 does not divide)."""
    from seqkit import get_model_type

    wrong = [k for k in IGNORED[run.arch] if k in run.model]
    if wrong:
        raise SeqkitError(f"{', '.join(wrong)} does not apply to --arch {run.arch}")
    model_type = get_model_type(NUMERALS_TRAINING.archs[run.arch].model_type)
    model_type.build(model_type.make_config({**run.model, "src_vocab": 8, "tgt_vocab": 8}))


def prepare(run) -> Prepared:
    """The num2words pairs of the run's spec: training batches of one length, the validation
    split, the tokenizers, and the test-split score and float16 export after training."""
    from seqkit import info, seq2seq_loss

    from .data import (
        Collate,
        LengthBatches,
        PairDataset,
        balance_magnitudes,
        load_splits,
        source_tokenizer,
        target_tokenizer,
    )
    from .evaluation import score
    from .translate import Translator

    if run.data is not None:
        raise SeqkitError("numerals makes its data with num2words: choose it with --max, --size, --lang, "
                          "--sampling and --negatives, not --data")
    check_model(run)
    spec, balance = data_spec(run.options, run.seed), run.options["balance"]
    splits = load_splits(spec)
    src_tok, tgt_tok = source_tokenizer(), target_tokenizer(w for _, w in splits["train"])
    train_set = PairDataset(balance_magnitudes(splits["train"]) if balance else splits["train"], src_tok, tgt_tok)
    fixed = dict(src_vocab=src_tok.vocab_size, tgt_vocab=tgt_tok.vocab_size, src_pad_id=src_tok.pad_id,
                 tgt_pad_id=tgt_tok.pad_id, max_len=max(256, 2 * max(len(t) for t in train_set.tgt)))

    def chosen(result) -> str:  # the weights --save gets (Ctrl-C: the best validated, as everywhere)
        return "last" if run.options["save_weights"] == "last" and not result["interrupted"] else "best"

    def metrics(result) -> dict:
        if not result.get("history"):  # nothing validated: nothing to score or export
            return {}
        test = score(Translator.load(result[f"{chosen(result)}_path"], device=run.train.get("device", "auto")), splits["test"])
        info(f"test split ({test['n']:,} unseen numbers): exact {test['exact']:.2%}, "
             f"token accuracy {test['token_acc']:.2%}")
        return {"test_exact": test["exact"], "test_token_acc": test["token_acc"], "test_n": test["n"],
                "val_acc": result.get("best_val_acc"), "train_seconds": round(result.get("seconds", 0.0), 1),
                "exported": chosen(result)}

    def export(result, target, metrics):
        from seqkit import export_checkpoint, export_onnx

        path = export_checkpoint(result[f"{chosen(result)}_path"], target, dtype="float16", metrics=metrics)
        export_onnx(path, strict=False)  # graphs for ONNX Runtime (else torch serves it)
        return path

    return Prepared(LengthBatches(train_set, run.seed), PairDataset(splits["val"], src_tok, tgt_tok, by_length=True),
                    config=fixed, tokenizer=tgt_tok, collate=Collate(src_tok.pad_id, tgt_tok.pad_id),
                    loss_fn=seq2seq_loss, metrics=metrics, export=export,
                    data={**spec.to_dict(), "balanced": balance},
                    extra={"src_tokenizer": src_tok.to_dict(), "source": "reversed digits, sign last",
                           "trained_range": [spec.low, spec.max]})
