"""``seqkit names``: generate surnames for a country; ``countries``, ``train``, ``eval``.

Typer only at import time; torch is imported inside the commands that need it.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from typer.core import TyperGroup

from seqkit import DataOption, JsonOption, SeqkitError, eval_command, generator_command, train_command

from .evaluation import NAMES_EVAL
from .generator import NAMES
from .training import NAMES_TRAINING, TASK


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

        from .generator import DEFAULT_MODEL

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


names_app.command("eval")(eval_command(NAMES_EVAL))
