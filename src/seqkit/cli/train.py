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

from seqkit.cli.generate import keyword_params, typer_signature
from seqkit.errors import SeqkitError
from seqkit.generation.generator import Param, device_param, json_param, seed_param, threads_param
from seqkit.train.kit import (
    TrainRecipe,
    check_settings,
    merge_settings,
    read_config_file,
    run_training,
    with_offered,
)


def _common(recipe: TrainRecipe) -> list:
    """The options of every ``train`` command: core's shared :class:`~seqkit.Param` declarations
    (``--seed``, ``--device``, ``--threads``, ``--json``, checked by ``Param.check``) and the
    kit's own ``(name, default, annotation)``."""
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
        seed_param(default=0),
        device_param(),
        threads_param(for_torch=True),
        ("tensorboard", False, Annotated[bool, opt("--tensorboard", help="Also write TensorBoard event files to RUN/tensorboard/ (pip install tensorboard).")]),
        ("config", None, Annotated[Path | None, opt("--config", help="TOML file with [model] and [train] settings.")]),
        ("set_", None, Annotated[list[str] | None, opt("--set", help="A model or training setting, key=value (repeatable; wins over --config).")]),
        ("print_config", False, Annotated[bool, opt("--print-config", help="Print the merged settings as JSON and exit.")]),
        json_param(),
    ]


def _check_registered(recipe: TrainRecipe, arch: str) -> None:
    """An architecture may come from another plugin (``compressive``): say which is missing."""
    from seqkit.host.plugins import model_types

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


def train_command(recipe: TrainRecipe):
    """A function for ``app.command("train")`` that trains ``recipe``'s task."""
    recipe = with_offered(recipe)  # the architectures other plugins offer for its data
    common = _common(recipe)
    shared = [c for c in common if isinstance(c, Param)]

    def command(**values):
        ctx = values.pop("ctx", None)  # Typer's context: which options were given
        options = {p.name: p.check(values.pop(p.name)) for p in recipe.params}
        values.update({p.name: p.check(values[p.name]) for p in shared})
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

    params = keyword_params(common, recipe.params)
    params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))
    return typer_signature(command, params, "train", recipe.description or f"Train a {recipe.task} model.")
