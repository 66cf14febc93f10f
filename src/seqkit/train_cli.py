"""``train_command(recipe)``: the Typer ``train`` command of a :class:`~seqkit.TrainRecipe`.

The common options are defined here once, with their checks; the recipe's own parameters are
added after them. Typer only (no torch) at import.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import SeqkitError
from .generation_cli import _annotation, _default, keyword_params, typer_signature
from .train_kit import (
    Renamed,
    TrainRecipe,
    check_settings,
    merge_settings,
    read_config_file,
    run_training,
    with_offered,
)


def _common(recipe: TrainRecipe) -> list[tuple[str, object, object]]:
    archs = ", ".join(recipe.archs)
    opt = typer.Option
    return [
        ("arch", recipe.default_arch, Annotated[str, opt("--arch", help=f"Architecture to train: {archs}.")]),
        ("data", None, Annotated[Path | None, opt("--data", help="Data folder or file.")]),
        ("out", None, Annotated[str | None, opt("--out", "-o", help="Run folder (checkpoints, metrics.jsonl, loss.png). [default: a new folder under seqkit's data folder]")]),
        ("save", None, Annotated[str | None, opt("--save", help=f"Export the best model as this name (or a .json path). [default: {recipe.save_as or 'the architecture'}]")]),
        ("resume", False, Annotated[bool, opt("--resume", help="Continue the run in --out.")]),
        ("init", None, Annotated[str | None, opt("--init", help="Start from this checkpoint's weights (name or path).")]),
        ("steps", None, Annotated[int | None, opt("--steps", min=1, help="Optimizer steps.")]),
        ("epochs", None, Annotated[int | None, opt("--epochs", min=1, help="Passes over the training data.")]),
        ("batch_size", None, Annotated[int | None, opt("--batch-size", min=1, help="Batch size.")]),
        ("lr", None, Annotated[float | None, opt("--lr", help="Peak learning rate.")]),
        ("seed", 0, Annotated[int, opt("--seed", min=0, max=2**63 - 1, help="Random seed (weights, data order, dropout).")]),
        ("device", "auto", Annotated[str, opt("--device", help="auto, cpu, cuda, cuda:N or mps.")]),
        ("threads", 0, Annotated[int, opt("--threads", min=0, help="CPU threads for torch (0 = torch's default; 1 is often faster on a busy machine).")]),
        ("tensorboard", False, Annotated[bool, opt("--tensorboard", help="Also write TensorBoard event files to RUN/tensorboard/ (pip install tensorboard).")]),
        ("config", None, Annotated[Path | None, opt("--config", help="TOML file with [model] and [train] settings.")]),
        ("set_", None, Annotated[list[str] | None, opt("--set", help="A model or training setting, key=value (repeatable; wins over --config).")]),
        ("print_config", False, Annotated[bool, opt("--print-config", help="Print the merged settings as JSON and exit.")]),
        ("as_json", False, Annotated[bool, opt("--json", help="Print the summary as JSON on stdout.")]),
    ]


def _check_registered(recipe: TrainRecipe, arch: str) -> None:
    """An architecture may come from another plugin (``compressive``): say which is missing."""
    from .registry import model_types

    model_type = recipe.archs[arch].model_type
    if model_type not in model_types():
        raise SeqkitError(f"--arch {arch} needs the model type {model_type!r}, which no installed plugin "
                          f"registers (install its plugin; `seqkit plugins` lists what is installed)")


def _given(ctx, name: str) -> bool:
    """Whether the option ``name`` was given (command line or environment), not left at its default."""
    if ctx is None:  # called from Python: every value counts
        return True
    source = ctx.get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"


def _spec(target) -> Renamed:
    return target if isinstance(target, Renamed) else Renamed(target)


def _target(target: str) -> str:
    """An option named as a flag (``"--out"``) or by name (``"out"``, ``"save_weights"``)."""
    return target[2:].replace("-", "_") if target.startswith("--") else target


def _old_flags(recipe: TrainRecipe, common) -> list[tuple[str, object, object]]:
    """A hidden option per deprecated flag, of its own type or that of what it maps onto (text
    for a setting); ``--on/--off`` pairs are on/off flags."""
    import typing

    kinds = {"str": str, "int": int, "float": float, "bool": bool}
    types = {name: typing.get_args(ann)[0] for name, _, ann in common}
    types.update({p.name: typing.get_args(_annotation(p))[0] for p in recipe.params})
    options = []
    for i, (old, target) in enumerate(recipe.deprecated.items()):
        spec = _spec(target)
        kind = bool if "/" in old else kinds.get(spec.type) or types.get(_target(spec.to), str)
        options.append((f"old_{i}", None, Annotated[kind | None, typer.Option(old, hidden=True)]))
    return options


def _apply_old_flags(recipe: TrainRecipe, values: dict, defaults: dict) -> None:
    """Map the deprecated flags given onto what they are now, with a one-line warning each."""
    for i, (old, target) in enumerate(recipe.deprecated.items()):
        value = values.pop(f"old_{i}")
        if value is None:
            continue
        spec = _spec(target)
        on, _, off = old.partition("/")
        spelled, target = (off if value is False and off else on), _target(spec.to)
        if not target:  # accepted and ignored
            new = "nothing: leave it out"
        elif target in defaults:  # a common option or a param
            new = "--" + target.replace("_", "-")
            if values[target] != defaults[target]:
                out = "; --out is the run folder, --save NAME the export" if target == "out" else ""
                raise SeqkitError(f"give {new} only ({spelled} is its old spelling{out})")
            values[target] = value
        else:  # a model or training setting
            text = json.dumps(value) if not isinstance(value, str) else value
            new = f"--set {target}={text}"
            values["set_"] = [f"{target}={text}", *(values["set_"] or [])]  # an explicit --set wins
        use = spec.note or f"use {new}"
        print(f"Warning: `{recipe.task} train {spelled}` is deprecated; {use}", file=sys.stderr)


def train_command(recipe: TrainRecipe):
    """A function for ``app.command("train")`` that trains ``recipe``'s task."""
    recipe = with_offered(recipe)  # the architectures other plugins offer for its data
    common = _common(recipe)
    defaults = {name: default for name, default, _ in common} | {p.name: _default(p) for p in recipe.params}

    def command(**values):
        ctx = values.pop("ctx", None)  # Typer's context: which options were given
        _apply_old_flags(recipe, values, defaults)
        options = {p.name: p.check(values.pop(p.name)) for p in recipe.params}
        arch = values["arch"]
        if arch not in recipe.archs:
            import difflib

            close = difflib.get_close_matches(arch, list(recipe.archs), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise SeqkitError(f"--arch must be one of {', '.join(recipe.archs)}, not {arch!r}{hint}")
        _check_registered(recipe, arch)
        flags = {k: values[k] for k in ("steps", "epochs", "batch_size", "lr")}  # None: not given
        flags.update({k: values[k] for k in ("seed", "device") if _given(ctx, k)})  # a default loses to --config
        flags.update(tensorboard=values["tensorboard"] or None)
        file_settings = read_config_file(values["config"]) if values["config"] else None
        model, train = merge_settings(recipe, arch, file_settings, values["set_"] or [], flags, options)
        if values["print_config"]:
            check_settings(recipe, arch, model, train)
            shown = {"seed": 0, "device": "auto", **train}  # TrainConfig's defaults where nothing said
            typer.echo(json.dumps({"arch": arch, "model": model, "train": shown}, indent=2))
            return None
        summary = run_training(recipe, arch, values["data"], values["out"], values["save"], values["resume"],
                               values["init"], values["threads"], model, train, options)
        if values["as_json"]:
            typer.echo(json.dumps(summary, indent=2))
        else:
            loss = summary.get("best_val_loss")
            what = f"best val loss {loss:.4f}" if loss is not None else "no validation"
            print(f"{what} after {summary['steps']} steps in {summary['seconds']} s", file=sys.stderr)
            if summary["saved"]:
                typer.echo(summary["saved"])
        return summary

    import inspect

    params = keyword_params(common, recipe.params) + keyword_params(_old_flags(recipe, common), [])
    params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))
    return typer_signature(command, params, "train", recipe.description or f"Train a {recipe.task} model.")
