"""``eval_command(recipe)``: the Typer ``eval`` command of an :class:`~seqkit.EvalRecipe`.

The common options are defined here once, with their checks; the recipe's own parameters are
added after them. Typer only (no torch) at import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqkit.cli.generate import keyword_params, terminal_progress, typer_signature
from seqkit.evaluate.kit import EvalRecipe, EvalRun, default_models, print_report, run_evaluation
from seqkit.generation.generator import (
    Param,
    device_param,
    json_default,
    json_param,
    model_param,
    seed_param,
    threads_param,
)


def _common(recipe: EvalRecipe) -> list:
    """The options of every ``eval`` command: core's shared :class:`~seqkit.Param` declarations
    (``-m/--model``, ``--device``, ``--threads``, ``--seed``, ``--json``, checked by
    ``Param.check``) and the kit's own ``(name, default, annotation)``."""
    opt = typer.Option
    shown = recipe.default_models if isinstance(recipe.default_models, (list, tuple)) else ()
    default = f" [default: {' '.join(shown)}]" if shown else ""
    many = " (repeatable)" if recipe.multiple else ""
    return [
        model_param(type="list" if recipe.multiple else "str",
                    help=f"Checkpoint to evaluate: a name or a .json path{many}.{default}"),
        ("data", None, Annotated[Path | None, opt("--data", help="Held-out data (a folder or file). [default: the task's own]")]),
        device_param(),
        threads_param(for_torch=True, default=recipe.threads),
        seed_param(default=0),
        ("batch_size", None, Annotated[int | None, opt("--batch-size", min=1, help="Batch size. [default: the task's]")]),
        ("limit", None, Annotated[int | None, opt("--limit", min=1, help="Evaluate at most this many held-out items (a quick check).")]),
        json_param(),
    ]


def eval_command(recipe: EvalRecipe):
    """A function for ``app.command("eval")`` that evaluates ``recipe``'s task."""
    common = _common(recipe)
    shared = [c for c in common if isinstance(c, Param)]

    def command(**values):
        from seqkit.options import set_threads

        options = {p.name: p.check(values.pop(p.name)) for p in recipe.params}
        values.update({p.name: p.check(values[p.name]) for p in shared})
        models = values["model"]
        models = ([models] if isinstance(models, str) else list(models or [])) or default_models(recipe)
        set_threads(values["threads"])
        with terminal_progress(f"{recipe.task} eval") as ctx:
            run = EvalRun(recipe.task, models, values["data"], values["device"], options, values["seed"],
                          values["batch_size"], values["limit"], on_progress=ctx.progress)
            report = run_evaluation(recipe, run)
        if values["as_json"]:
            typer.echo(json.dumps(report, indent=2, ensure_ascii=False, default=json_default))
        else:
            print_report(recipe, report)
        return report

    return typer_signature(command, keyword_params(common, recipe.params), "eval",
                           recipe.description or f"Measure a {recipe.task} model on held-out data.")
