"""The ``eval`` command kit: a plugin says how to measure its task, core does the rest once.

A plugin declares an :class:`EvalRecipe` and gets a whole ``eval`` command from
:func:`~seqkit.eval_command`: ``-m/--model``, ``--data``, ``--device``, ``--threads``, ``--seed``,
``--batch-size``, ``--limit`` and ``--json``, then the task's own options; the thread policy, the
device, loading checkpoints (:meth:`EvalRun.load`), a progress bar, the ``Error:`` line, JSON
output and a table of the report.

Plain Python at import (no torch).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqkit.errors import SeqkitError
from seqkit.generation.generator import Param


@dataclass
class EvalRecipe:
    """A task's evaluation: ``evaluate(run) -> dict`` (or ``"module:function"``) measures the
    models of an :class:`EvalRun` and returns the report (JSON-able: numbers, strings, lists,
    dicts). ``params`` are the task's own options (they arrive in ``run.options``);
    ``default_models`` are the checkpoints ``-m`` means when not given (names, or a
    ``"module:function"`` returning them); ``multiple`` makes ``-m`` repeatable; ``render(report)``
    returns what to print instead of core's tables (a rich renderable or a string); ``threads`` is
    the default of ``--threads``."""

    task: str
    evaluate: Any
    params: list[Param] = field(default_factory=list)
    default_models: Any = ()
    multiple: bool = False
    render: Any = None
    description: str = ""
    threads: int = 0


@dataclass
class EvalRun:
    """One evaluation, as ``evaluate`` sees it."""

    task: str
    models: list[str]
    data: Path | None
    device_option: str
    options: dict[str, Any]
    seed: int
    batch_size: int | None = None
    limit: int | None = None
    on_progress: Callable[[int, int | None, str], None] | None = None
    _device: Any = None

    @property
    def device(self):
        """The ``torch.device`` that ``--device`` names (``auto``: CUDA, then MPS, then CPU)."""
        if self._device is None:
            from seqkit.device import pick_device

            self._device = pick_device(self.device_option)
        return self._device

    def load(self, spec: str, **kwargs):
        """The :class:`~seqkit.io.Checkpoint` a ``-m`` value names (a name or a ``.json`` path), on
        :attr:`device`, checked to be one of this task's."""
        from seqkit.io.checkpoints import find_checkpoint, load_checkpoint

        return load_checkpoint(find_checkpoint(spec, self.task), device=self.device,
                               expect_task=self.task, **kwargs)

    def progress(self, done: int, total: int | None, label: str = "") -> None:
        """``done`` of ``total`` items; a bar on a terminal, nothing in a pipe."""
        if self.on_progress is not None:
            self.on_progress(done, total, label)


def default_models(recipe: EvalRecipe) -> list[str]:
    from seqkit.host.registry import resolve

    models = recipe.default_models
    if isinstance(models, str):
        models = resolve(models, f"default models of {recipe.task!r}")()
    return list(models)


def run_evaluation(recipe: EvalRecipe, run: EvalRun) -> dict:
    """Seed, threads are set by the caller; call the recipe's ``evaluate`` and check its report."""
    from seqkit.host.registry import resolve
    from seqkit.options import seed_everything

    if not run.models:
        raise SeqkitError(f"no {recipe.task} model to evaluate: give -m NAME (or train one)")
    seed_everything(run.seed)
    report = resolve(recipe.evaluate, f"evaluation of {recipe.task!r}")(run)
    if not isinstance(report, dict):
        raise TypeError(f"the evaluation of {recipe.task!r} returned {type(report).__name__}, not a dict")
    return report


# ---------------------------------------------------------------- printing

def render_report(recipe: EvalRecipe, report: dict):
    """The recipe's ``render(report)``, or core's: the top-level numbers and words as one table,
    and each list of dicts as a table of its own."""
    if recipe.render is not None:
        from seqkit.host.registry import resolve

        return resolve(recipe.render, f"report of {recipe.task!r}")(report)
    from rich.console import Group
    from rich.table import Table

    parts = []
    scalars = {k: v for k, v in report.items() if not isinstance(v, (dict, list))}
    if scalars:
        table = Table(title=f"{recipe.task} eval", show_header=False)
        table.add_column("", style="bold")
        table.add_column("", justify="right")
        for k, v in scalars.items():
            table.add_row(k, _cell(v))
        parts.append(table)
    for key, value in report.items():
        rows = value if isinstance(value, list) and value and all(isinstance(r, dict) for r in value) else None
        if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
            rows = [value]
        if rows:
            columns = list(dict.fromkeys(k for r in rows for k, v in r.items() if not isinstance(v, (dict, list))))
            table = Table(title=key)
            for c in columns:
                table.add_column(c, justify="left" if isinstance(rows[0].get(c), str) else "right")
            for r in rows:
                table.add_row(*(_cell(r.get(c)) for c in columns))
            parts.append(table)
    return Group(*parts)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)


def print_report(recipe: EvalRecipe, report: dict) -> None:
    shown = render_report(recipe, report)
    if isinstance(shown, str):
        print(shown)
        return
    from rich.console import Console

    Console(file=sys.stdout).print(shown)
