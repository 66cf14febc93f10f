"""What `seqkit music train` needs that is this plugin's own: the corpus (any registered music
dataset, any music tokenizer), the architectures that can learn it, the presets, windows or
streams, augmentation. The options, checks, Trainer, export and summary are seqkit's train kit.
"""

from __future__ import annotations

from pathlib import Path

from seqkit import Arch, Param, Prepared, SeqkitError, TrainRecipe

from .streams import TrainingData

TASK = "music"

MUSIC_TRAINING = TrainRecipe(
    task=TASK,
    save_as="my-{arch}",  # never a shipped model's name: a trial run must not replace the default
    prepare="seqkit_midi_transformer.training:prepare",
    archs={"music-transformer": Arch("music-transformer"), "transformer-lm": Arch("transformer-lm"),
           "rnn-lm": Arch("rnn-lm")},
    offered="tokens",  # and the token-LM architectures other plugins offer (register_architectures)
    params=[
        Param("dataset", "str", "auto", "Any registered music dataset: maestro, midi-folder, those other plugins "
              "add ... or auto (maestro if the folder has MAESTRO metadata, else midi-folder)."),
        Param("dataset_option", "list", None, "A keyword of the dataset loader, key=value (repeatable), e.g. "
              "program=25 (`seqkit plugins` lists the datasets)."),
        Param("tokenizer", "str", None, "Any registered music tokenizer: performance (default), remi, those "
              "other plugins add ..."),
        Param("tokenizer_option", "list", None, "A tokenizer setting, key=value (repeatable), e.g. program=25."),
        Param("preset", "choice", "small", "Model settings to start from, the model type's own presets "
              "(--set wins): paper (Huang et al. 2018), small, tiny.", choices=("paper", "small", "tiny")),
        Param("seq_len", "int", None, "Training window in tokens (default: the model's max_len, else 512).",
              min=8, flags=("--seq-len", "--max-seq")),
        Param("val_seq_len", "int", None, "Validation window (default: --seq-len). With --streams validation "
              "reads each piece from its start as `music eval` does, in windows of this length "
              "(default 4 x --seq-len).", min=8),
        Param("augment", "bool", True, "Random transposition (±3) and time stretch (±5%).",
              flags=("--augment/--no-augment",)),
        Param("streams", "bool", None, "Models that carry memories: each batch row reads on "
              "where it stopped, memories kept across steps (default), or independent random windows.",
              flags=("--streams/--windows",)),
        Param("memory_reset", "float", 0.0, "With --streams: the chance that a step starts from empty "
              "memories, so that the model also learns to begin without them (as at the start of "
              "generation); costs NLL on streams.", min=0.0, max=1.0),
        Param("stream_groups", "int", 32, "With --streams: steps take turns among this many groups of "
              "--batch-size streams (the model keeps a memory per group), so consecutive steps read "
              "different pieces.", min=1),
        Param("drums", "bool", False, "Keep drum tracks (drum datasets).", flags=("--drums/--no-drums",)),
        Param("condition", "str", None, "Learn a label per piece to condition on: composer (MAESTRO's "
              "canonical_composer) or folder (each MIDI file's top subfolder of --data, e.g. a genre); "
              "then music generate --composer NAME. With --init the new embedding starts at zero."),
        Param("condition_only", "bool", False, "With --condition: train only the label embedding, the rest "
              "frozen (so the model without a label stays the --init model exactly)."),
        Param("limit", "int", 0, "Use only the first N files of each split (0 = all).", min=0),
    ],
    train={"batch_size": 16, "lr": 3e-4, "warmup_steps": 200, "schedule": "cosine", "weight_decay": 0.01},
    model_defaults="seqkit_midi_transformer.training:model_defaults",
    export_dtype="float16",
    description="Train a music language model on MAESTRO, a MIDI folder, a .npz token archive or any "
                "registered music dataset (--data), and save the best one (--save NAME).",
)


def model_defaults(arch: str, options: dict) -> dict:
    """``--preset``'s settings: the model type's own presets (``PRESETS`` on its config class,
    e.g. ``MusicTransformerConfig.PRESETS``); core's generic models (transformer-lm, rnn-lm), which
    have none, are sized as the music-transformer's preset where they have its settings.
    ``max_len`` grows to a longer ``--seq-len`` (``--set max_len=N`` still wins)."""
    import dataclasses

    from seqkit import architectures, get_model_type

    chosen = MUSIC_TRAINING.archs.get(arch) or architectures()[arch]  # the task's own, or one offered
    config_class = get_model_type(chosen.model_type).resolve().config_class
    fields = {f.name for f in dataclasses.fields(config_class)}
    preset = options.get("preset") or "small"
    presets = getattr(config_class, "PRESETS", None)
    if presets is None and arch in MUSIC_TRAINING.archs:  # core's generic models: the music-transformer's sizes
        from .model import PRESETS as presets

        presets = {name: {k: v for k, v in values.items() if k in fields} for name, values in presets.items()}
    presets = presets or {}
    if presets and preset not in presets:
        raise SeqkitError(f"--preset {preset}: {arch} has only the presets {', '.join(presets)}")
    values = dict(presets.get(preset, {}))
    seq_len = options.get("seq_len")
    if "max_len" in fields and seq_len and seq_len > values.get("max_len", seq_len - 1):
        values["max_len"] = seq_len
    return values


def corpus_for_training(data, dataset, tokenizer, tokenizer_option, dataset_option, drums, limit=0,
                        workers=None, fixed=None):
    """The corpus and its dataset name/options for train and tokenize; ``fixed`` is the tokenizer
    of ``--init``/``--resume`` (then ``--tokenizer`` must name the same type)."""
    from .sources import open_corpus, pairs_to_dict, tokenizer_class, training_tokenizer

    topts = pairs_to_dict(tokenizer_option, "--tokenizer-option")
    if fixed is not None:
        have = getattr(fixed, "type", type(fixed).__name__)
        if tokenizer and tokenizer != have:
            tokenizer_class(tokenizer)  # an unknown name is reported as such
            raise SeqkitError(f"--tokenizer {tokenizer} is incompatible with the checkpoint, whose "
                              f"tokenizer is {have}")
        if topts or (drums and not getattr(fixed, "drums", False)):
            raise SeqkitError(f"the checkpoint's {have} tokenizer is fixed: drop --tokenizer-option/--drums")
        tok, strict = fixed, True
    else:
        tok = training_tokenizer(tokenizer, topts, drums)
        strict = bool(tokenizer or topts or drums)
    return open_corpus(data, dataset, tok, pairs_to_dict(dataset_option, "--dataset-option"),
                       limit=limit, workers=workers, strict=strict)


def _starting_point(run):
    """The ``--init`` checkpoint (or None) and the tokenizer the run must keep: ``--init``'s, or
    that of the run ``--resume`` continues (its vocabulary, not a new one)."""
    from seqkit import find_checkpoint, load_checkpoint, read_meta, tokenizer_from_dict

    if run.init:
        start = load_checkpoint(find_checkpoint(run.init, TASK), device="cpu", expect_task=TASK)
        if start.tokenizer is None:
            raise SeqkitError(f"--init {run.init}: the checkpoint has no tokenizer")
        return start, start.tokenizer
    if run.resume and run.out is not None and (run.out / "last.json").exists():
        recorded = read_meta(run.out / "last.json").get("tokenizer")
        return None, tokenizer_from_dict(recorded) if recorded else None
    return None, None


def windows(run, corpus, config, seq_len, augment, labels=None) -> TrainingData:
    """Random windows of ``seq_len`` for training; consecutive ones of ``--val-seq-len`` for validation."""
    seq_len = seq_len or getattr(config, "max_len", None) or 512
    val_seq_len = run.options["val_seq_len"] or seq_len
    max_len = getattr(config, "max_len", None)
    for flag, length in (("--seq-len", seq_len), ("--val-seq-len", val_seq_len)):
        if max_len and length > max_len:
            raise SeqkitError(f"{flag} {length} is longer than the model's context (max_len {max_len}); "
                              f"use at most {max_len} or --set max_len={length}")
    train_set = corpus.dataset("train", seq_len, augment=augment, seed=run.seed, labels=labels)
    val_set = (corpus.dataset("validation", val_seq_len, random_windows=False, labels=labels)
               if corpus.split("validation") else None)
    return TrainingData(seq_len, val_seq_len, train_set, val_set, extra={"streams": False},
                        describe=f"windows of {seq_len}")


def _conditioning(run, kind, corpus, start) -> dict | None:
    """``{"kind", "values", "ids" (piece name -> cond id)}`` for ``--condition``, or None."""
    if kind is None:
        if run.options["condition_only"]:
            raise SeqkitError("--condition-only needs --condition composer|folder")
        return None
    from . import conditioning

    if run.arch != "music-transformer":
        raise SeqkitError(f"--condition needs --arch music-transformer (its model embeds the label), not {run.arch}")
    labels = conditioning.piece_labels(str(kind).strip().lower(), run.data, corpus)
    values = conditioning.vocabulary(labels, [p.name for p in corpus.split("train")])
    had = conditioning.info(start.extra) if start is not None else None
    if had is not None and list(had["values"]) != values:
        raise SeqkitError(f"--init {run.init} is conditioned on other values ({len(had['values'])}): "
                          "continue it with the same data and --condition")
    return {"kind": str(kind).strip().lower(), "values": values, "ids": conditioning.ids(labels, values)}


def prepare(run) -> Prepared:
    from seqkit import get_model_type, info

    from .augment import augmenter
    from .streams import stream_training
    from .windows import collate

    if run.data is None:
        raise SeqkitError("give the music to learn: --data FOLDER (MAESTRO, MIDI files) or FILE.npz")
    o = run.options
    start, fixed = _starting_point(run)
    corpus, dataset, dataset_opts = corpus_for_training(run.data, o["dataset"], o["tokenizer"], o["tokenizer_option"],
                                                        o["dataset_option"], o["drums"], limit=o["limit"], fixed=fixed)
    tok, augment = corpus.tokenizer, o["augment"]
    if augment and augmenter(tok) is None:
        info(f"the {getattr(tok, 'type', '')} tokenizer has no augmentation: training without it")
        augment = False
    mt = get_model_type(run.model_type)
    config = start.config if start else mt.make_config({**run.model, "vocab_size": tok.vocab_size})
    seq_len = o["seq_len"] or (start.extra.get("seq_len") if start else None)
    cond = _conditioning(run, o["condition"], corpus, start)
    if cond is not None:
        plan = windows(run, corpus, config, seq_len, augment, labels=cond["ids"])
        plan.extra["cond"] = {"kind": cond["kind"], "values": cond["values"]}
    else:
        plan = (stream_training(run, mt.resolve(), config, corpus, seq_len, augment)
                or windows(run, corpus, config, seq_len, augment))

    def setup(net):
        if cond is not None:
            from .conditioning import grow_embedding

            grow_embedding(net, len(cond["values"]))
            if o["condition_only"]:
                for name, param in net.named_parameters():
                    param.requires_grad_(name.startswith("cond."))
            info(f"conditioned on {cond['kind']}: {len(cond['values'])} values (ids 1-{len(cond['values'])}; "
                 f"new embedding rows start at zero)")
        info(f"{mt.name}: {sum(p.numel() for p in net.parameters()) / 1e6:.2f}M parameters; "
             f"{corpus.n_tokens('train'):,} training tokens in {len(corpus.split('train'))} pieces; {plan.describe}")

    def export(result: dict, target, metrics: dict):
        from seqkit import export_checkpoint, export_onnx

        path = export_checkpoint(result["best_path"], target, dtype=MUSIC_TRAINING.export_dtype, metrics=metrics)
        export_onnx(path, strict=False)  # graphs for ONNX Runtime, where the model type has them
        return path

    data = {"dataset": dataset, "options": dataset_opts, "source": corpus.source,
            "path": str(Path(run.data).resolve()), "train_tokens": corpus.n_tokens("train"), "augment": augment}
    return Prepared(plan.train_set, plan.val_set, config={"vocab_size": tok.vocab_size}, tokenizer=tok, data=data,
                    extra={"seq_len": plan.seq_len, "eval_seq_len": plan.val_seq_len, **plan.extra},
                    collate=collate, evaluator=plan.evaluator, setup=setup, train=plan.train, export=export)
