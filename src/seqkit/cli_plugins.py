"""``seqkit plugins``: what is installed and what each plugin registered."""

from __future__ import annotations

import json

import typer

from .options import JsonOption

plugins_app = typer.Typer(help="List installed plugins and what they registered.",
                          invoke_without_command=True, no_args_is_help=False)


@plugins_app.callback()
def plugins_list(ctx: typer.Context, as_json: JsonOption = False):
    """List plugins: name, version and what each registered (tasks, models, tokenizers, datasets,
    commands). Set SEQKIT_LOAD_PLUGINS to a comma-separated list (or empty) to load only those."""
    if ctx.invoked_subcommand is not None:
        return
    from dataclasses import asdict

    from .plugins import plugin_infos

    infos = plugin_infos()
    if as_json:
        typer.echo(json.dumps([asdict(i) for i in infos], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="seqkit plugins")
    for col in ("plugin", "version", "registered", "status"):
        table.add_column(col)
    for i in infos:
        reg = "; ".join(f"{k}: {', '.join(v)}" for k, v in i.registered.items() if v)
        status = f"[red]{i.error}[/red]" if i.error else "ok"
        table.add_row(i.name, i.version or "", reg, status)
    Console().print(table)
