"""``seqkit names``: generate surnames for a country; ``countries``, ``train``, ``eval``.

Typer only at import time; torch is imported inside the commands that need it.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from seqkit import SeqkitError, check_writable, generator_command
from seqkit.options import (
    DataOption,
    DeviceOption,
    JsonOption,
    SeedOption,
    TemperatureOption,
    ThreadsOption,
    renamed,
    seed_option,
    set_threads,
)

from .generator import NAMES
from .train import ARCHS, GENERATORS, TASK, check_settings


class _NamesGroup(TyperGroup):
    """``seqkit names Greek`` (a country where a command goes) says how to ask for Greek names."""

    def resolve_command(self, ctx, args):
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            raise SeqkitError(f"no command {args[0]!r} (commands: {', '.join(self.list_commands(ctx))}); "
                              f"for names of a country: seqkit names --country {args[0]}")
        return super().resolve_command(ctx, args)


names_app = typer.Typer(
    cls=_NamesGroup,
    help="Surnames of 18 languages, generated for a country: seqkit names --country Greek",
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def _check_temperature(temperature: float) -> None:
    if not math.isfinite(temperature):  # the option's min=0 lets inf through
        raise SeqkitError(f"--temperature must be a finite number >= 0, not {temperature}")


names_app.callback(invoke_without_command=True)(generator_command(NAMES, group=True))


@names_app.command()
def countries(
    data: DataOption = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Whose countries to list, when no --data. [default: transformer]")] = None,
    as_json: JsonOption = False,
):
    """The countries (languages) with their name counts and aliases."""
    from .countries import aliases_of

    if data is not None:
        from .data import load_folder

        counts = load_folder(data).counts()
        source = str(data)
    else:
        from seqkit import find_checkpoint, read_meta

        from .sample import DEFAULT_MODEL

        path = find_checkpoint(model or DEFAULT_MODEL, TASK)
        meta = read_meta(path)
        counts = (meta.get("data") or {}).get("counts")
        if not counts:
            raise SeqkitError(f"{path} does not record its countries; pass --data DIR")
        source = f"{(meta.get('data') or {}).get('source') or '?'} (recorded in {path.name})"
    if as_json:
        typer.echo(json.dumps([{"country": c, "names": n, "aliases": aliases_of(c)}
                               for c, n in counts.items()], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(counts)} countries, {sum(counts.values())} distinct names", caption=source)
    table.add_column("country")
    table.add_column("names", justify="right")
    table.add_column("also matches")
    for c, n in counts.items():
        table.add_row(c, str(n), ", ".join(aliases_of(c)[:5]))
    Console().print(table)


def _save_path(save: str | None, arch: str) -> Path:
    from seqkit import user_checkpoint_path

    if save is None:
        return user_checkpoint_path(TASK, arch)
    p = Path(save).expanduser()
    if "/" in save or save.endswith(".json"):
        if p.is_dir():
            raise SeqkitError(f"--save {save} is a folder; give a .json path such as "
                              f"{p / (arch + '.json')}, or a name for your checkpoint folder")
        return p if p.suffix == ".json" else p.with_suffix(".json")
    return user_checkpoint_path(TASK, save)  # a plain name (no '..', no separators)


@names_app.command()
def train(
    arch: Annotated[str | None, typer.Option("--arch", help=f"Architecture: {', '.join(ARCHS)}. [default: gru]")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", hidden=True)] = None,  # old --arch, until 0.5
    data: DataOption = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Epochs. [default: per architecture]")] = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, help="Stop after this many steps.")] = None,
    hidden: Annotated[int | None, typer.Option("--hidden", min=1, help="Hidden size (rnn, lstm, gru, classifier).")] = None,
    layers: Annotated[int | None, typer.Option("--layers", min=1, help="Layers (lstm, gru, transformer).")] = None,
    embd: Annotated[int | None, typer.Option("--embd", min=1, help="Embedding size (lstm, gru, transformer, classifier).")] = None,
    heads: Annotated[int | None, typer.Option("--heads", min=1, help="Attention heads (transformer).")] = None,
    dropout: Annotated[float | None, typer.Option("--dropout", min=0.0, max=0.9, help="Dropout.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate (cosine decay).")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="Batch size.")] = None,
    weight_decay: Annotated[float | None, typer.Option("--weight-decay", min=0.0, help="AdamW weight decay. [default: per architecture]")] = None,
    balance: Annotated[float | None, typer.Option("--balance", min=0.0, max=1.0, help="Oversample small countries: repeat their names (mean/count)**B times (0 = off; generators only). [default: per architecture]")] = None,
    balance_cap: Annotated[int | None, typer.Option("--balance-cap", min=0, help="At most this many repeats per name with --balance (0 = no cap). [default: per architecture]")] = None,
    patience: Annotated[int, typer.Option("--patience", min=0, help="Stop after N epochs without improvement (0 = off).")] = 0,
    seed: SeedOption = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder (checkpoints, metrics.jsonl, loss.png).")] = None,
    save: Annotated[str | None, typer.Option("--save", help="Where the best model goes: a name (in your checkpoint folder) or a .json path. [default: the architecture's name]")] = None,
    float32: Annotated[bool, typer.Option("--float32", help="Save float32 weights (default float16).")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")] = False,
    device: DeviceOption = "auto",
    threads: ThreadsOption = 0,
    as_json: JsonOption = False,
):
    """Train a generator (rnn, lstm, gru, transformer) or the country classifier on the core trainer."""
    model = renamed(arch, model, "--arch", "--model", "names train") or "gru"
    from .data import load_folder, resolve_data
    from .train import train as run_training

    if model not in ARCHS:
        raise SeqkitError(f"unknown --arch {model!r}; choose one of {', '.join(ARCHS)}")
    settings = {"hidden": hidden, "n_layer": layers, "n_embd": embd, "n_head": heads, "dropout": dropout}
    applies = {"rnn": {"hidden", "dropout"}, "lstm": {"hidden", "n_layer", "n_embd", "dropout"},
               "gru": {"hidden", "n_layer", "n_embd", "dropout"},
               "transformer": {"n_layer", "n_embd", "n_head", "dropout"},
               "classifier": {"hidden", "n_embd", "dropout"}}[model]
    flags = {"hidden": "--hidden", "n_layer": "--layers", "n_embd": "--embd", "n_head": "--heads", "dropout": "--dropout"}
    wrong = [flags[k] for k, v in settings.items() if v is not None and k not in applies]
    if model == "classifier":  # it weights the countries instead of repeating names
        wrong += [flag for flag, v in (("--balance", balance), ("--balance-cap", balance_cap)) if v is not None]
    if wrong:
        raise SeqkitError(f"{', '.join(wrong)} does not apply to --arch {model}")
    if model == "transformer" and layers is not None:
        settings["n_layer"] = settings.pop("n_layer")
    settings = {k: v for k, v in settings.items() if v is not None}
    check_settings(model, **settings)
    set_threads(threads)
    target = _save_path(save, model)  # a bad --save fails before any data is read
    check_writable(target, "--save")
    folder = resolve_data(data)
    names_data = load_folder(folder)
    names_data.split()  # one Error line now when a folder has nothing to hold out
    if resume and out is None:
        raise SeqkitError("--resume needs the --out folder of the run to continue")
    if out is None:
        from seqkit import data_dir

        out = data_dir("runs", TASK) / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    _note(f"training {model} on {len(names_data)} names of {len(names_data.countries)} countries "
          f"from {folder}; run folder {out}")
    result = run_training(model, names_data, out, target, epochs=epochs, steps=steps, lr=lr,
                          batch_size=batch_size, weight_decay=weight_decay, patience=patience, balance=balance,
                          balance_cap=balance_cap,
                          seed=seed or 0, device=device, dtype=None if float32 else "float16", resume=resume,
                          **settings)
    if result["path"] is None:
        _note(f"interrupted before the first evaluation: nothing saved to {target} "
              f"(continue with --resume --out {out})")
    else:
        what = "val accuracy" if model == "classifier" else "val NLL/char"
        value = result.get("val_acc") if model == "classifier" else result.get("val_loss")
        stopped = "interrupted; best so far: " if result["interrupted"] else ""
        _note(f"{stopped}{what} {value:.4f} after {result['steps']} steps in {result['seconds']:.0f} s")
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    elif result["path"] is not None:
        typer.echo(result["path"])


@names_app.command("eval")
def evaluate(
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="Generators to evaluate (repeatable). [default: rnn lstm gru transformer]")] = None,
    classifier: Annotated[str, typer.Option("--classifier", help="Country classifier name or path.")] = "classifier",
    data: DataOption = None,
    per_country: Annotated[int, typer.Option("--per-country", min=1, max=10000, help="Names generated per country.")] = 100,
    temperature: TemperatureOption = 1.0,
    seed: Annotated[int, seed_option("Sampling seed.")] = 0,
    as_json: JsonOption = False,
    device: DeviceOption = "auto",
):
    """Held-out NLL per character, classifier agreement and share of new names, as one table."""
    _check_temperature(temperature)
    import torch

    from seqkit import find_checkpoint

    from .data import load_folder, resolve_data
    from .evaluate import classifier_report, evaluate_generator, load_classifier
    from .sample import cpu_or_device, load_generator

    # small models, batches of short names: one thread; torch's default threads spin-wait on a busy
    # CPU (eval of two shipped models: 31 s instead of 4 s here while others trained)
    torch.set_num_threads(1)
    dev = cpu_or_device(device)  # auto: ONNX Runtime on the CPU where the graphs exist
    specs = list(model) if model else [g for g in GENERATORS if _exists(find_checkpoint, g)]
    if not specs:
        raise SeqkitError("no names models found; train one with seqkit names train")
    names_data = load_folder(resolve_data(data))
    clf = load_classifier(classifier, dev)
    if list(clf.extra.get("countries") or []) != names_data.countries:
        raise SeqkitError(f"{clf.path} was trained on other countries than those of {names_data.source}")
    report = {"classifier": {"model": clf.path.stem, **classifier_report(clf, names_data)},
              "data": names_data.source, "models": []}
    for spec in specs:
        gen = load_generator(spec, dev)
        report["models"].append(evaluate_generator(gen, clf, names_data, per_country, temperature, seed))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    c = report["classifier"]
    table = Table(title=f"held-out NLL; {per_country} names per country at T={temperature}",
                  caption=f"classifier {c['model']}: {c['accuracy']:.1%} of {c['names']} held-out names "
                          f"({c['macro_accuracy']:.1%} averaged over countries)")
    for col in ("model", "params", "MB", "NLL/char", "agree", "new", "train s"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in report["models"]:
        secs = r.get("train_seconds")
        label = r["model"] if r["model"] == r["arch"] else f"{r['model']} ({r['arch']})"
        table.add_row(label, f"{r['parameters']:,}", f"{r['size_bytes'] / 1e6:.2f}",
                      f"{r['nll']:.3f}", f"{r['agreement']:.1%}", f"{r['new']:.1%}",
                      f"{secs:.0f}" if secs else "?")
    Console().print(table)


def _exists(find, spec) -> bool:
    try:
        find(spec, TASK)
        return True
    except SeqkitError:
        return False
