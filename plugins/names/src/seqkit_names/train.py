"""Training the name generators and the country classifier on the core Trainer.

Architectures (``--model``) and the registered model types they use:

* ``rnn``: ``names-rnn``, the tutorial's cell (one-hot country and char, i2h/i2o/o2o, dropout 0.1)
* ``lstm``, ``gru``: core ``rnn-lm`` with ``n_cond`` = number of countries, the one-hot country
  concatenated to every input step (``cond_dim=0``)
* ``transformer``: core ``transformer-lm``; the country is a learned embedding added to every
  position (no prefix token)
* ``classifier``: ``names-classifier``, the character-level country classifier used by ``eval``

Every name is ``<bos> chars <eos>``; the loss is the cross-entropy of each next character, the end
token included.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from seqkit import SeqkitError

from .data import ALPHABET, HELD_OUT, SPLIT_SEED, NamesData

TASK = "names"
GENERATORS = ("rnn", "lstm", "gru", "transformer")
ARCHS = GENERATORS + ("classifier",)
MAX_NAME = 30  # characters; the transformer's context is MAX_NAME + 2

MODEL_TYPES = {"rnn": "names-rnn", "lstm": "rnn-lm", "gru": "rnn-lm",
               "transformer": "transformer-lm", "classifier": "names-classifier"}
# model settings (overridable from the CLI) and training defaults, per architecture
MODEL_DEFAULTS = {
    "rnn": dict(hidden=128, dropout=0.1),
    "lstm": dict(cell="lstm", n_embd=64, hidden=256, n_layer=2, dropout=0.3),
    "gru": dict(cell="gru", n_embd=64, hidden=256, n_layer=1, dropout=0.3),
    "transformer": dict(n_layer=4, n_head=4, n_embd=128, dropout=0.3, max_len=MAX_NAME + 2),
    "classifier": dict(n_embd=32, hidden=128, dropout=0.2),
}
# balance/balance_cap: how the small countries are oversampled (see ``oversample``). It trades
# held-out NLL (dominated by Russian and English: best without it) against agreement with the
# classifier (needs it) and novelty (falls when tiny countries are repeated too often): the lstm is
# tuned for NLL, the transformer (the default generator) for agreement and novelty (docs/names.md).
TRAIN_DEFAULTS = {
    "rnn": dict(epochs=12, lr=3e-3, batch_size=64, warmup=0, balance=0.75),
    "lstm": dict(epochs=25, lr=3e-3, batch_size=64, warmup=0, balance=0.0, weight_decay=0.1),
    "gru": dict(epochs=15, lr=3e-3, batch_size=64, warmup=0, balance=0.75),
    "transformer": dict(epochs=20, lr=2e-3, batch_size=128, warmup=200, balance=1.0, balance_cap=8),
    "classifier": dict(epochs=12, lr=3e-3, batch_size=64, warmup=0),
}


def make_tokenizer():
    """The fixed character vocabulary: the 4 specials + ASCII letters, space, ' and -."""
    from seqkit import CharTokenizer

    return CharTokenizer(sorted(ALPHABET))


def model_config(arch: str, vocab_size: int, n_countries: int, pad_id: int, **overrides) -> dict:
    if arch not in ARCHS:
        raise SeqkitError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    cfg = dict(MODEL_DEFAULTS[arch])
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    cfg["vocab_size"] = vocab_size
    if arch == "classifier":
        cfg.update(n_classes=n_countries, pad_id=pad_id)
    else:
        cfg["n_cond"] = n_countries
    return cfg


def make_model(arch: str, cfg: dict):
    """``(config, model)`` of ``arch`` from a ``model_config`` dict; settings the model rejects
    (a width the heads do not divide ...) are one ``SeqkitError`` line."""
    from seqkit import get_model_type

    mtype = get_model_type(MODEL_TYPES[arch])
    try:
        config = mtype.make_config(cfg)
        return config, mtype.build(config)
    except (ValueError, TypeError) as exc:
        raise SeqkitError(f"invalid {arch} settings: {exc}") from None


def check_settings(arch: str, **overrides) -> None:
    """Build ``arch`` with these settings once, so a bad one fails before any data is read."""
    tok = make_tokenizer()
    make_model(arch, model_config(arch, tok.vocab_size, 2, tok.pad_id, **overrides))


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


# ---------------------------------------------------------------- training

def train(arch: str, data: NamesData, out: Path, save: Path, *, epochs=None, steps=None, lr=None,
          batch_size=None, weight_decay: float | None = None, patience: int = 0, seed: int = 0,
          device: str = "auto", dtype: str | None = "float16", progress: bool = True,
          schedule: str = "cosine", resume: bool = False, balance: float | None = None, balance_cap: int | None = None,
          **model_overrides) -> dict:
    """Train ``arch`` on ``data``'s training split, export the best checkpoint to ``save``."""
    import torch

    from seqkit import TrainConfig, Trainer, export_checkpoint, export_onnx, lm_loss

    from .classifier import classifier_loss

    tok = make_tokenizer()
    n = len(data.countries)
    cfg = model_config(arch, tok.vocab_size, n, tok.pad_id, **model_overrides)
    torch.manual_seed(seed)
    config, model = make_model(arch, cfg)
    train_pairs, val_pairs = data.split(HELD_OUT, SPLIT_SEED)
    d = TRAIN_DEFAULTS[arch]
    balance = d.get("balance", 0.0) if balance is None else balance
    balance_cap = d.get("balance_cap", 0) if balance_cap is None else balance_cap
    weight_decay = d.get("weight_decay", 0.0) if weight_decay is None else weight_decay
    if arch == "classifier":
        w = class_weights(train_pairs, n)
        train_set = classifier_items(train_pairs, tok, w)
        val_set = classifier_items(val_pairs, tok, w)
        collate, loss_fn = partial(classifier_collate, pad_id=tok.pad_id), classifier_loss
    else:
        train_set = lm_items(oversample(train_pairs, n, balance, balance_cap), tok)
        val_set = lm_items(val_pairs, tok)
        collate, loss_fn = partial(lm_collate, pad_id=tok.pad_id), lm_loss
    if epochs is None and steps is None:
        epochs = d["epochs"]
    tc = TrainConfig(epochs=epochs, steps=steps, batch_size=batch_size or d["batch_size"],
                     lr=lr or d["lr"], weight_decay=weight_decay, schedule=schedule, warmup_steps=d["warmup"],
                     patience=patience, device=device, seed=seed, progress=progress)
    extra = {"arch": arch, "countries": data.countries,
             "train": {"epochs": epochs, "steps": steps, "lr": tc.lr, "batch_size": tc.batch_size,
                       "weight_decay": weight_decay, "schedule": schedule, "seed": seed,
                       "balance": balance if arch != "classifier" else None,
                       "balance_cap": balance_cap if arch != "classifier" else None}}
    if arch != "classifier":
        extra["known"] = "\n".join(sorted(data.known()))
    t0, cpu0 = time.perf_counter(), time.process_time()
    trainer = Trainer(model, tc, train_set, val_set, collate=collate, loss_fn=loss_fn, out=out,
                      checkpoint=dict(model_type=MODEL_TYPES[arch], config=config, tokenizer=tok,
                                      task=TASK, data=data.describe(), extra=extra))
    result = trainer.fit(resume=resume)
    seconds = time.perf_counter() - t0
    metrics = {"val_loss": result.get("best_val_loss"), "train_seconds": round(seconds, 1),
               "train_cpu_seconds": round(time.process_time() - cpu0, 1),
               "steps": result.get("steps"), "epochs": result.get("epochs")}
    if arch == "classifier":
        metrics["val_acc"] = result.get("best_val_acc")
    interrupted = result.get("interrupted", False)
    if interrupted and not result.get("history"):
        # Ctrl-C before the first evaluation: nothing validated to export, and ``save`` may hold a
        # model the user relies on (by default the user's own ``ARCH``, found before the shipped one)
        return {"path": None, "run": str(out), "seconds": seconds, **metrics, "interrupted": True}
    path = export_checkpoint(trainer.best_path, save, dtype=dtype, metrics=metrics)
    export_onnx(path, strict=False)  # its graphs for the ONNX Runtime backend (torch serves it without)
    return {"path": str(path), "run": str(out), "seconds": seconds, **metrics, "interrupted": interrupted}
