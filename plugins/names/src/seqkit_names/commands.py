"""``seqkit names``: generate surnames for a country; ``countries``, ``train``, ``eval``.

Typer only at import time; torch is imported inside the commands that need it.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from seqkit import SeqkitError, generator_command, train_command
from seqkit.options import (
    DataOption,
    DeviceOption,
    JsonOption,
    TemperatureOption,
    seed_option,
)

from .generator import NAMES
from .train import GENERATORS, TASK
from .training import NAMES_TRAINING


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


names_app.command("train")(train_command(NAMES_TRAINING))


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
