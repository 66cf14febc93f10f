"""What `seqkit names train` needs that is this plugin's own: the architectures with their
defaults, the fixed character vocabulary, the datasets and batches of the generators and of the
classifier, the oversampling of small countries, and the export (float16 weights and ONNX graphs).
Options, checks, the Trainer and the export rule are seqkit's.

Architectures (``--arch``) and the registered model types they use:

* ``rnn``: ``names-rnn``, the tutorial's cell (one-hot country and char, i2h/i2o/o2o, dropout 0.1)
* ``lstm``, ``gru``: core ``rnn-lm`` with ``n_cond`` = number of countries, the one-hot country
  concatenated to every input step (``cond_dim=0``)
* ``transformer``: core ``transformer-lm``; the country is a learned embedding added to every
  position (no prefix token)
* any architecture another plugin offers for token LMs (``register_architectures``), with the
  settings its owner tuned for names; the country arrives as ``n_cond``
* ``classifier``: ``names-classifier``, the character-level country classifier used by ``eval``

Every name is ``<bos> chars <eos>``; the loss is the cross-entropy of each next character, the end
token included.
"""

from __future__ import annotations

from seqkit import Arch, Param, Prepared, SeqkitError, TrainRecipe

from .data import ALPHABET

TASK = "names"
GENERATORS = ("rnn", "lstm", "gru", "transformer")
MAX_NAME = 30  # characters; the transformer's context is MAX_NAME + 2


def make_tokenizer():
    """The fixed character vocabulary: the 4 specials + ASCII letters, space, ' and -."""
    from seqkit import CharTokenizer

    return CharTokenizer(sorted(ALPHABET))


# ---------------------------------------------------------------- datasets and batches

class Items:
    """A map-style dataset over a list."""

    def __init__(self, items: list):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def lm_items(pairs, tok) -> Items:
    return Items([(tok.encode(n, add_bos=True, add_eos=True), c) for n, c in pairs])


def lm_collate(items, pad_id: int) -> dict:
    """``{"input", "target" (-100 = ignore), "cond"}`` from ``(ids, country)`` pairs."""
    import torch

    length = max(len(ids) for ids, _ in items) - 1
    inp = torch.full((len(items), length), pad_id, dtype=torch.long)
    tgt = torch.full((len(items), length), -100, dtype=torch.long)
    for i, (ids, _) in enumerate(items):
        ids = torch.tensor(ids, dtype=torch.long)
        inp[i, : len(ids) - 1] = ids[:-1]
        tgt[i, : len(ids) - 1] = ids[1:]
    cond = torch.tensor([c for _, c in items], dtype=torch.long)
    return {"input": inp, "target": tgt, "cond": cond}


def class_weights(pairs, n_classes: int, power: float = 1.0) -> list[float]:
    """Per-country weights ``(1 / count) ** power``, normalised to a mean of 1 per name.

    ``power=1`` balances the countries fully (each one weighs as much as any other in the loss),
    which is what the eval's per-country averaged agreement needs.
    """
    counts = [0] * n_classes
    for _, c in pairs:
        counts[c] += 1
    raw = [(1.0 / n ** power if n else 0.0) for n in counts]
    mean = sum(r * n for r, n in zip(raw, counts)) / max(1, sum(counts))
    return [r / mean for r in raw]


def oversample(pairs, n_classes: int, power: float = 0.5, cap: int = 0) -> list:
    """Repeat each country's training names ``round((mean / count) ** power)`` times (at least once,
    at most ``cap`` times when ``cap`` > 0), so that the small countries (Vietnamese: 63 training
    names, Russian 8,400) are seen often enough for the conditioning to learn them. ``power=0``
    turns it off; the cap keeps the tiniest countries from being memorised."""
    counts = [0] * n_classes
    for _, c in pairs:
        counts[c] += 1
    mean = sum(counts) / max(1, sum(1 for n in counts if n))
    repeat = [max(1, round((mean / n) ** power)) if n else 0 for n in counts]
    if cap > 0:
        repeat = [min(r, cap) for r in repeat]
    return [p for p in pairs for _ in range(repeat[p[1]])]


def classifier_items(pairs, tok, weights) -> Items:
    return Items([(tok.encode(n), c, weights[c]) for n, c in pairs])


def classifier_collate(items, pad_id: int) -> dict:
    import torch

    from seqkit import pad_sequences

    return {"input": pad_sequences([ids for ids, _, _ in items], pad_id),
            "target": torch.tensor([c for _, c, _ in items], dtype=torch.long),
            "weight": torch.tensor([w for _, _, w in items], dtype=torch.float)}


# ---------------------------------------------------------------- the recipe

# balance, balance_cap: how the small countries are oversampled (see ``oversample``). It
# trades held-out NLL (dominated by Russian and English: best without it) against agreement with
# the classifier (needs it) and novelty (falls when tiny countries are repeated too often): the
# lstm is tuned for NLL, the transformer (the default generator) for agreement and novelty
# (docs/names.md). The classifier weights the countries instead.
BALANCE = {"rnn": (0.75, 0), "lstm": (0.0, 0), "gru": (0.75, 0), "transformer": (1.0, 8)}
OFFERED_BALANCE = (0.75, 0)  # an architecture another plugin offers

NAMES_TRAINING = TrainRecipe(
    task=TASK,
    save_as="my-{arch}",  # never a shipped model's name: a trial run must not replace the default
    prepare="seqkit_names.training:prepare",
    archs={
        "rnn": Arch("names-rnn", dict(hidden=128, dropout=0.1), dict(epochs=12, lr=3e-3, batch_size=64)),
        "lstm": Arch("rnn-lm", dict(cell="lstm", n_embd=64, hidden=256, n_layer=2, dropout=0.3),
                     dict(epochs=25, lr=3e-3, batch_size=64, weight_decay=0.1)),
        "gru": Arch("rnn-lm", dict(cell="gru", n_embd=64, hidden=256, n_layer=1, dropout=0.3),
                    dict(epochs=15, lr=3e-3, batch_size=64)),
        "transformer": Arch("transformer-lm", dict(n_layer=4, n_head=4, n_embd=128, dropout=0.3,
                                                   max_len=MAX_NAME + 2),
                            dict(epochs=20, lr=2e-3, batch_size=128, warmup_steps=200)),
        "classifier": Arch("names-classifier", dict(n_embd=32, hidden=128, dropout=0.2),
                           dict(epochs=12, lr=3e-3, batch_size=64)),
    },
    default_arch="gru",
    params=[
        Param("balance", "float", None, "Oversample small countries: repeat their names (mean/count)**B "
              "times (0 = off; generators only). [default: per architecture]", min=0.0, max=1.0),
        Param("balance_cap", "int", None, "At most this many repeats per name with --balance (0 = no cap). "
              "[default: per architecture]", min=0),
        Param("float32", "bool", False, "Save float32 weights (default float16)."),
    ],
    train={"schedule": "cosine"},
    offered="tokens",  # and the token-LM architectures other plugins offer
    description="Train a generator (rnn, lstm, gru, transformer or an architecture another plugin offers) "
                "or the country classifier.",
)


def prepare(run) -> Prepared:
    """The names folder (``--data``, else the tutorial's data), split as ``eval`` splits it."""
    import time

    from seqkit import export_checkpoint, export_onnx, info

    from .data import HELD_OUT, SPLIT_SEED, load_folder, resolve_data

    cpu0 = time.process_time()
    classifier = run.arch == "classifier"
    if classifier:  # it weights the countries instead of repeating names
        wrong = [f"--{k.replace('_', '-')}" for k in ("balance", "balance_cap") if run.options[k] is not None]
        if wrong:
            raise SeqkitError(f"{', '.join(wrong)} does not apply to --arch classifier")
    folder = resolve_data(run.data)
    data = load_folder(folder)
    train_pairs, val_pairs = data.split(HELD_OUT, SPLIT_SEED)  # one Error line when nothing to hold out
    info(f"training {run.arch} on {len(data)} names of {len(data.countries)} countries from {folder}")
    tok, n = make_tokenizer(), len(data.countries)
    extra = {"countries": data.countries, "train": dict(run.train)}
    if classifier:
        sets, collate, loss_fn = _classifier_sets(train_pairs, val_pairs, tok, n)
        config = {"vocab_size": tok.vocab_size, "n_classes": n, "pad_id": tok.pad_id}
    else:
        sets, collate, loss_fn = _generator_sets(train_pairs, val_pairs, tok, n, run, extra)
        config = {"vocab_size": tok.vocab_size, "n_cond": n}
        _check_context(run.model.get("max_len"), train_pairs + val_pairs, tok)
        extra["known"] = "\n".join(sorted(data.known()))

    def metrics(result: dict) -> dict:
        return {"train_seconds": round(result["seconds"], 1),
                "train_cpu_seconds": round(time.process_time() - cpu0, 1), "epochs": result["epochs"],
                **({"val_acc": result.get("best_val_acc")} if classifier else {})}

    def export(result: dict, target, metrics: dict):
        dtype = None if run.options["float32"] else "float16"
        path = export_checkpoint(result["best_path"], target, dtype=dtype, metrics=metrics)
        export_onnx(path, strict=False)  # its graphs for ONNX Runtime (torch serves a model without)
        return path

    return Prepared(*sets, config=config, tokenizer=tok, data=data.describe(), extra=extra, collate=collate,
                    loss_fn=loss_fn, metrics=metrics, export=export)


def _check_context(max_len, pairs, tok) -> None:
    """A model with a context (the transformer's ``max_len``) must hold the longest name with its
    start and end markers: one Error line before training, not a traceback at the first batch."""
    if max_len is None or not pairs:
        return
    need = max(len(tok.encode(name, add_bos=True, add_eos=True)) for name, _ in pairs)
    if isinstance(max_len, int) and not isinstance(max_len, bool) and max_len < need:
        raise SeqkitError(f"max_len {max_len} is shorter than the longest name in the data ({need} tokens "
                          f"with its start and end markers): set max_len={need} or more")


def _generator_sets(train_pairs, val_pairs, tok, n: int, run, extra: dict):
    from functools import partial

    from seqkit import lm_loss


    balance, cap = BALANCE.get(run.arch, OFFERED_BALANCE)
    balance = balance if run.options["balance"] is None else run.options["balance"]
    cap = cap if run.options["balance_cap"] is None else run.options["balance_cap"]
    extra["train"].update(balance=balance, balance_cap=cap)
    sets = (lm_items(oversample(train_pairs, n, balance, cap), tok), lm_items(val_pairs, tok))
    return sets, partial(lm_collate, pad_id=tok.pad_id), lm_loss


def _classifier_sets(train_pairs, val_pairs, tok, n: int):
    from functools import partial

    from .classifier import classifier_loss

    w = class_weights(train_pairs, n)
    sets = (classifier_items(train_pairs, tok, w), classifier_items(val_pairs, tok, w))
    return sets, partial(classifier_collate, pad_id=tok.pad_id), classifier_loss
