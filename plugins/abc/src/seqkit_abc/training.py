"""Training a character model on ABC tunes: random slices of the tune stream, teacher forcing.

``ABC_TRAINING`` is ``seqkit abc train``'s recipe (its architectures, data options and training
defaults: the course baseline, batch 32, lr 4e-3, Adam, 20 epochs, patience 3) and ``prepare`` its
data: the train command kit does the rest. ``Settings`` and ``train`` run one training of
``seqkit abc sweep``. Plain Python at import (no torch): the functions import it.

Train items are random slices (``seq_len`` characters) of the course-format stream of all
training tunes; one epoch is as many slices as fit in the stream end to end. Validation is done
on whole tunes, each read from a fresh state starting at ``<start>`` (the way tunes are
generated), so ``val_loss`` is nats per character of the validation tunes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seqkit import Arch, Param, Prepared, SeqkitError, TrainRecipe

from .data import DEFAULT_PRIMER, course_data, load_tunes, stream, wrap

if TYPE_CHECKING:
    import torch

_RNN = {"n_embd": 64, "hidden": 150, "n_layer": 1, "dropout": 0.0}

ABC_TRAINING = TrainRecipe(
    task="abc",
    prepare="seqkit_abc.training:prepare",
    archs={cell: Arch("rnn-lm", {"cell": cell, **_RNN}) for cell in ("lstm", "gru", "rnn")},
    offered="tokens",  # and the token-LM architectures other plugins offer (register_architectures)
    params=[
        Param("val", "file", None, "Validation tunes (default: the course val.txt when --data is not "
              "given, else 10% of --data, fixed seed)."),
        Param("format", "choice", "auto", "Tune file format: auto, course (<start>/<end> blocks) or abc (X: tunes).",
              choices=("auto", "course", "abc")),
        Param("seq_len", "int", 100, "Characters per training slice.", min=2),
        Param("transpose", "int", 0, "Add this many key-transposed copies of every training tune "
              "(augmentation: K: and every note moved by a random interval of up to 5 semitones).",
              min=0, max=10),
    ],
    train={"epochs": 20, "batch_size": 32, "lr": 4e-3, "optimizer": "adam", "patience": 3},
    description="Train a character model on ABC tunes and save the best one (float16) as --save NAME "
                "(default my-ARCH). --data: a course file (<start>/<end> blocks), an .abc file or a "
                "folder; default ../shared/data/abc-pa3/train.txt and val.txt. Prints loss and accuracy "
                "after every epoch.",
    save_as="my-{arch}",
    onnx_graphs="int8",  # `abc generate` runs them on ONNX Runtime, without torch (int8: docs/abc.md)
    # the flags before 0.5, kept one release, hidden, with a one-line deprecation: settings are --set key=value
)


CELLS = ("lstm", "gru", "rnn")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "adagrad", "sgd")


@dataclass
class Settings:
    """Everything ``seqkit abc train`` (and each ``sweep`` run) needs."""

    model: str = "lstm"  # the cell: lstm | gru | rnn
    hidden: int = 150
    layers: int = 1
    embd: int = 64
    dropout: float = 0.0
    optimizer: str = "adam"
    lr: float = 4e-3
    batch_size: int = 32
    seq_len: int = 100
    epochs: int | None = 20
    steps: int | None = None
    patience: int = 3
    schedule: str = "constant"
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"

    def check(self) -> None:
        if self.model not in CELLS:
            raise SeqkitError(f"unknown model {self.model!r}: use {', '.join(CELLS)}")
        if self.optimizer not in OPTIMIZERS:
            raise SeqkitError(f"unknown optimizer {self.optimizer!r}: use {', '.join(OPTIMIZERS)}")
        if self.hidden < 1 or self.layers < 1 or self.embd < 1:
            raise SeqkitError("--hidden, --layers and --embd must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise SeqkitError(f"--dropout must be in [0, 1), not {self.dropout}")
        if self.seq_len < 2:
            raise SeqkitError("--seq-len must be at least 2")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise SeqkitError(f"--lr must be a positive number, not {self.lr}")
        if self.batch_size < 1:
            raise SeqkitError(f"--batch-size must be at least 1, not {self.batch_size}")
        if self.patience < 0:
            raise SeqkitError(f"--patience must be 0 (off) or more, not {self.patience}")
        if (self.epochs or 0) < 0 or (self.steps or 0) < 0:
            raise SeqkitError("--epochs and --steps cannot be negative")


class SliceDataset:
    """``len`` = stream length / ``seq_len``; each item is a fresh random slice (teacher forcing)."""

    def __init__(self, ids: torch.Tensor, seq_len: int, seed: int = 0):
        import torch

        self.seq_len = min(seq_len, len(ids) - 1)
        if self.seq_len < 1:
            raise SeqkitError("the training text is too short")
        self.ids = ids
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return max(1, (len(self.ids) - 1) // self.seq_len)

    def state_dict(self) -> dict:
        """The generator's state: the Trainer keeps it in last.json, so that a resumed run draws
        the slices an uninterrupted one draws."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])

    def __getitem__(self, i: int) -> dict:
        import torch

        hi = len(self.ids) - self.seq_len  # exclusive upper bound of a start
        start = int(torch.randint(0, hi, (1,), generator=self.generator))
        x = self.ids[start:start + self.seq_len + 1]
        return {"input": x[:-1], "target": x[1:]}


def tune_items(tunes: list[str], tok) -> list[dict]:
    """One ``{"input", "target"}`` item per whole tune, sorted by length (less padding)."""
    import torch

    items = []
    for t in sorted(tunes, key=len):
        ids = torch.tensor(tok.encode(wrap(t)), dtype=torch.long)
        items.append({"input": ids[:-1], "target": ids[1:]})
    return items


def make_collate(pad_id: int):
    from seqkit import pad_sequences

    def collate(items):
        return {"input": pad_sequences([it["input"] for it in items], pad_id),
                "target": pad_sequences([it["target"] for it in items], -100)}

    return collate


@dataclass
class Corpus:
    train: list[str]
    val: list[str]
    source: dict


def load_corpus(data: Path, val: Path | None = None, fmt: str = "auto", val_fraction: float = 0.1,
                seed: int = 0) -> Corpus:
    """Train and validation tunes; without ``val``, 10% of the tunes are held out (fixed seed)."""
    tunes = load_tunes(data, fmt)
    if val is not None:
        val_tunes = load_tunes(val, fmt)
        source = {"train": str(data), "val": str(val)}
    else:
        if len(tunes) < 2:
            raise SeqkitError(f"{data} has only {len(tunes)} tune; give --val or more tunes")
        from seqkit import seeded_split

        tunes, val_tunes = seeded_split(tunes, val_fraction, seed)
        source = {"train": str(data), "val": f"{val_fraction:.0%} of the train tunes (seed {seed})"}
    source.update(train_tunes=len(tunes), val_tunes=len(val_tunes))
    return Corpus(tunes, val_tunes, source)


def datasets(tok, corpus: Corpus, seq_len: int, seed: int) -> tuple[SliceDataset, list[dict]]:
    """Random ``seq_len`` slices of the training stream; whole validation tunes."""
    import torch

    ids = torch.tensor(tok.encode(stream(corpus.train)), dtype=torch.long)
    return SliceDataset(ids, seq_len, seed), tune_items(corpus.val, tok)


def prepare(run) -> Prepared:
    """``seqkit abc train``'s data: ``--data``/``--val`` (default: the course files), read in
    ``--format``; the characters of the training tunes are the vocabulary."""
    from seqkit import CharTokenizer, info

    data, val = course_data(run.data, run.options["val"])
    corpus = load_corpus(data, val, run.options["format"], seed=run.seed)
    info(f"{corpus.source['train_tunes']} training tunes, {corpus.source['val_tunes']} validation tunes")
    copies = run.options.get("transpose") or 0
    if copies:
        from .transpose import augment

        corpus.train = augment(corpus.train, copies, seed=run.seed)
        corpus.source["transposed_copies"] = copies
        corpus.source["train_tunes_augmented"] = len(corpus.train)
        info(f"with {copies} transposed copies per tune: {len(corpus.train)} training tunes")
    tok = CharTokenizer.build([stream(corpus.train)])
    seq_len = run.options["seq_len"]
    train_set, val_set = datasets(tok, corpus, seq_len, run.seed)
    return Prepared(train_set, val_set, config={"vocab_size": tok.vocab_size}, tokenizer=tok,
                    data=corpus.source, extra={"primer": DEFAULT_PRIMER, "seq_len": seq_len},
                    collate=make_collate(tok.pad_id), on_eval=lambda row: info(format_row(row)),
                    metrics=lambda result: {"val_acc": result.get("best_val_acc")}, export=export_float16)


def export_float16(result: dict, target, metrics: dict):
    """The best model as float16 (half the file; the run folder keeps float32 to resume from)."""
    from seqkit import export_checkpoint

    return export_checkpoint(result["best_path"], target, dtype="float16", metrics=metrics)


def build(settings: Settings, corpus: Corpus):
    """Tokenizer, model and datasets for ``settings`` on ``corpus``."""
    import torch

    from seqkit import RNNLM, CharTokenizer, RNNConfig

    settings.check()
    tok = CharTokenizer.build([stream(corpus.train)])
    config = RNNConfig(tok.vocab_size, cell=settings.model, n_embd=settings.embd,
                       hidden=settings.hidden, n_layer=settings.layers, dropout=settings.dropout)
    torch.manual_seed(settings.seed)
    model = RNNLM(config)
    train_set, val_set = datasets(tok, corpus, settings.seq_len, settings.seed)
    return tok, config, model, train_set, val_set


def format_row(row: dict) -> str:
    def f(key, fmt):
        return format(row[key], fmt) if row.get(key) is not None else "-"

    return (f"epoch {row.get('epoch', 0):>3} step {row['step']:>6}  train loss {f('train_loss', '.4f')} "
            f"acc {f('train_acc', '.3f')}  val loss {f('val_loss', '.4f')} acc {f('val_acc', '.3f')}  "
            f"{row.get('time', 0):.0f}s")


def train(settings: Settings, corpus: Corpus, out: Path, resume: bool = False,
          progress: bool = True, report=None) -> dict:
    """Train, evaluating every epoch; ``out`` gets best.json, last.json, metrics.jsonl, loss.png."""
    from seqkit import TrainConfig, Trainer, lm_loss

    tok, config, model, train_set, val_set = build(settings, corpus)
    tc = TrainConfig(epochs=settings.epochs, steps=settings.steps, batch_size=settings.batch_size,
                     lr=settings.lr, optimizer=settings.optimizer, weight_decay=settings.weight_decay,
                     schedule=settings.schedule, patience=settings.patience, device=settings.device,
                     seed=settings.seed, progress=progress)
    trainer = Trainer(model, tc, train_set, val_set=val_set, collate=make_collate(tok.pad_id),
                      loss_fn=lm_loss, out=out,
                      checkpoint=dict(model_type="rnn-lm", config=config, tokenizer=tok, task="abc",
                                      data=corpus.source,
                                      extra={"primer": DEFAULT_PRIMER, "settings": asdict(settings)}),
                      on_eval=(lambda row: report(format_row(row))) if report is not None else None)
    result = trainer.fit(resume=resume)
    result["parameters"] = sum(p.numel() for p in model.parameters())
    result["batches_per_epoch"] = max(1, math.ceil(len(train_set) / settings.batch_size))
    return result


def evaluate_loss(model, tok, tunes: list[str], device, batch_size: int = 32) -> dict:
    """Nats per character and next-character accuracy over whole tunes (fresh state per tune)."""
    import torch

    from seqkit import lm_loss

    items = tune_items(tunes, tok)
    collate = make_collate(tok.pad_id)
    total = n = correct = 0.0
    unknown = sum(1 for t in tunes for c in wrap(t) if c not in tok.stoi)
    model.eval()
    with torch.no_grad():
        for i in range(0, len(items), batch_size):
            batch = {k: v.to(device) for k, v in collate(items[i:i + batch_size]).items()}
            loss, k, c = lm_loss(model, batch)
            total += float(loss) * int(k)
            n += int(k)
            correct += int(c)
    return {"loss": total / n, "acc": correct / n, "chars": int(n), "unknown_chars": unknown}
