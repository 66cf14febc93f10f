"""What `seqkit text train` needs that is this plugin's own: how to read the data and which
architectures it offers. Everything else (options, checks, the Trainer, export) is seqkit's."""

from __future__ import annotations

import math

from seqkit import Arch, Param, Prepared, TrainRecipe

TEXT_TRAINING = TrainRecipe(
    task="text",
    prepare="seqkit_text.training:prepare",
    archs={
        "transformer": Arch("transformer-lm", {"n_layer": 4, "n_head": 4, "n_embd": 128}),
        "rnn": Arch("rnn-lm", {"cell": "lstm", "n_embd": 64, "hidden": 128, "n_layer": 4}),
        # the compressive plugin's model (when installed): trained on streams, memories carried
        "compressive": Arch("compressive", {"n_layer": 4, "n_head": 4, "n_embd": 128, "seg_len": 64,
                                            "mem_len": 64, "cmem_len": 32}),
    },
    params=[
        Param("val", "file", None, "Validation text file (default: the last 10% of --data)."),
        Param("tokenizer", "choice", "char", "char (the corpus' characters) or bytes (UTF-8, nothing unknown).",
              choices=("char", "bytes")),
        Param("context", "int", 128, "Tokens per training window.", min=2),
    ],
    train={"steps": 1000, "batch_size": 32, "lr": 1e-3, "warmup_steps": 50, "schedule": "cosine"},
    description="Train a character-level model on --data TEXT and save the best one (--save NAME).",
    save_as="default",
)


def prepare(run) -> Prepared:
    from seqkit import CharTokenizer, SeqkitError, carries_memory, get_model_type, get_tokenizer_type, info

    from .data import read_text, windows

    if run.data is None:
        raise SeqkitError("give the text to learn: --data corpus.txt")
    text, context = read_text(run.data), run.options["context"]
    val = run.options["val"]
    train_text, val_text = (text, read_text(val)) if val else (text[: int(len(text) * 0.9)], text[int(len(text) * 0.9):])
    tok = CharTokenizer.build([train_text]) if run.options["tokenizer"] == "char" else get_tokenizer_type("bytes").resolve()()
    train_set = windows(train_text, tok, context, stride=max(1, context // 2), what=f"corpus {run.data}")
    val_set = windows(val_text, tok, context, what="validation text") if len(tok.encode(val_text)) > context else None
    if val_set is None:
        info(f"validation text shorter than one window of {context + 1} tokens: training without it")
    fixed = {"vocab_size": tok.vocab_size, **({"max_len": context} if run.arch == "transformer" else {})}
    evaluator = None
    if carries_memory(get_model_type(TEXT_TRAINING.archs[run.arch].model_type).resolve()):
        train_set, evaluator, val_set = _streams(train_text, val_text, tok, context, run)

    def metrics(result):
        loss = result.get("best_val_loss")
        return {"val_loss": loss, "val_bits_per_token": loss / math.log(2) if loss else None}

    return Prepared(train_set, val_set, config=fixed, tokenizer=tok, metrics=metrics, evaluator=evaluator,
                    data={"train": str(run.data), "val": str(val) if val else "last 10% of train",
                          "train_tokens": train_set.tokens if evaluator else len(train_set.ids)},
                    extra={"context": context, "streams": evaluator is not None})


def _streams(train_text, val_text, tok, context, run):
    """A model that carries memory reads the corpus as streams: pieces of 8 windows dealt to the
    batch rows, each row reading on where it stopped; validation reads the held-out text as one
    stream from its start."""
    from seqkit import TokenStreams, stream_evaluator

    ids = tok.encode(train_text)
    piece = 8 * context
    train_set = TokenStreams([ids[i:i + piece] for i in range(0, len(ids), piece)], context, seed=run.seed)
    val_ids = tok.encode(val_text)
    evaluator = stream_evaluator([val_ids], context, 1, tok.pad_id) if len(val_ids) > 1 else None
    return train_set, evaluator, None
