"""``eval_command(recipe)``: the Typer ``eval`` command of an :class:`~seqkit.EvalRecipe`.

The common options are defined here once, with their checks; the recipe's own parameters are
added after them. Typer only (no torch) at import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqkit.cli.generate import _plain, _terminal_progress, keyword_params, typer_signature
from seqkit.evaluate.kit import EvalRecipe, EvalRun, default_models, print_report, run_evaluation


def _common(recipe: EvalRecipe) -> list[tuple[str, object, object]]:
    opt = typer.Option
    shown = recipe.default_models if isinstance(recipe.default_models, (list, tuple)) else ()
    default = f" [default: {' '.join(shown)}]" if shown else ""
    model = (Annotated[list[str] | None, opt("--model", "-m", help="Checkpoint to evaluate: a name or a .json path "
                                                                "(repeatable)." + default)]
             if recipe.multiple else
             Annotated[str | None, opt("--model", "-m", help="Checkpoint to evaluate: a name or a .json path." + default)])
    return [
        ("model", None, model),
        ("data", None, Annotated[Path | None, opt("--data", help="Held-out data (a folder or file). [default: the task's own]")]),
        ("device", "auto", Annotated[str, opt("--device", help="auto, cpu, cuda, cuda:N or mps.")]),
        ("threads", recipe.threads, Annotated[int, opt("--threads", min=0, help="CPU threads for torch (0 = torch's default).")]),
        ("seed", 0, Annotated[int, opt("--seed", min=0, max=2**63 - 1, help="Random seed (sampling, subsets).")]),
        ("batch_size", None, Annotated[int | None, opt("--batch-size", min=1, help="Batch size. [default: the task's]")]),
        ("limit", None, Annotated[int | None, opt("--limit", min=1, help="Evaluate at most this many held-out items (a quick check).")]),
        ("as_json", False, Annotated[bool, opt("--json", help="Print the report as JSON on stdout.")]),
    ]


def eval_command(recipe: EvalRecipe):
    """A function for ``app.command("eval")`` that evaluates ``recipe``'s task."""
    common = _common(recipe)

    def command(**values):
        from seqkit.options import set_threads

        options = {p.name: p.check(values.pop(p.name)) for p in recipe.params}
        models = values["model"]
        models = ([models] if isinstance(models, str) else list(models or [])) or default_models(recipe)
        set_threads(values["threads"])
        with _terminal_progress(f"{recipe.task} eval") as ctx:
            run = EvalRun(recipe.task, models, values["data"], values["device"], options, values["seed"],
                          values["batch_size"], values["limit"], on_progress=ctx.progress)
            report = run_evaluation(recipe, run)
        if values["as_json"]:
            typer.echo(json.dumps(report, indent=2, ensure_ascii=False, default=_plain))
        else:
            print_report(recipe, report)
        return report

    return typer_signature(command, keyword_params(common, recipe.params), "eval",
                           recipe.description or f"Measure a {recipe.task} model on held-out data.")
