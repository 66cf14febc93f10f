"""``seqkit plugins``: list installed plugins, install and uninstall them, start a new one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from seqkit.errors import SeqkitError
from seqkit.options import JsonOption

plugins_app = typer.Typer(help="List installed plugins (seqkit plugins [--json]); install, uninstall "
                               "or create one.",
                          invoke_without_command=True, no_args_is_help=False)


@plugins_app.callback()
def plugins_list(ctx: typer.Context, as_json: JsonOption = False):
    """List plugins: name, version and what each registered (tasks, models, tokenizers, datasets,
    commands). Set SEQKIT_LOAD_PLUGINS to a comma-separated list (or empty) to load only those."""
    if ctx.invoked_subcommand is not None:
        return
    from dataclasses import asdict

    from seqkit.host.command_cache import fill_infos
    from seqkit.host.plugins import plugin_infos

    infos = fill_infos(plugin_infos())
    if as_json:
        import json

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


def pip_command(*args: str) -> list[str]:
    """``python -m pip ARGS`` for the Python that runs seqkit, so plugins land next to it."""
    return [sys.executable, "-m", "pip", *args]


def _run_pip(args: list[str]) -> None:
    """Run pip; its output goes through, a failure is one ``Error:`` line with pip's own reason."""
    cmd = pip_command(*args)
    typer.echo("$ " + " ".join(["python", "-m", "pip", *args]), err=True)
    try:
        proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    except OSError as exc:  # pragma: no cover - no Python?
        raise SeqkitError(f"could not run pip: {exc}") from None
    lines = [line.strip() for line in (proc.stderr or "").splitlines() if line.strip()]
    if not proc.returncode:
        if proc.stderr:
            sys.stderr.write(proc.stderr)
        return
    errors = [line for line in lines if line.lower().startswith("error:")]
    reason = (errors or lines or ["no output"])[-1]
    raise SeqkitError(f"pip {args[0]} failed (exit code {proc.returncode}): {reason}")


def _looks_like_path(spec: str) -> bool:
    """A local folder or archive rather than a distribution name, URL or VCS spec."""
    if "://" in spec or "@" in spec or spec.startswith(("git+", "hg+", "svn+", "bzr+", "-")):
        return False
    return ("/" in spec or "\\" in spec or spec.startswith((".", "~"))
            or spec.endswith((".whl", ".tar.gz", ".zip", ".tgz")))


def _check_paths(specs: list[str]) -> None:
    for spec in specs:
        if _looks_like_path(spec) and not Path(spec).expanduser().exists():
            raise SeqkitError(f"no such plugin folder or file: {spec}")


_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


@plugins_app.command(context_settings=_PASS_THROUGH)
def install(
    ctx: typer.Context,
    packages: list[str] | None = typer.Argument(None, metavar="PACKAGE", help="Plugin distributions (seqkit-text), folders "
                                         "or wheels; any other pip option is passed to pip."),
    editable: str | None = typer.Option(None, "--editable", "-e", metavar="PATH",
                                           help="Install this project folder in editable mode."),
    upgrade: bool = typer.Option(False, "--upgrade", "-U", help="Upgrade to the newest version."),
    force_reinstall: bool = typer.Option(False, "--force-reinstall", help="Reinstall even if current."),
    no_cache_dir: bool = typer.Option(False, "--no-cache-dir", help="Do not use pip's cache."),
    pre: bool = typer.Option(False, "--pre", help="Include pre-release versions."),
):
    """Install plugins with pip into the environment seqkit runs in (like `llm install`).

    Examples: `seqkit plugins install seqkit-text`, `seqkit plugins install ./seqkit-mine`,
    `seqkit plugins install -e ./seqkit-mine`.
    """
    packages = list(packages or [])
    if not packages and not editable:
        raise SeqkitError("name a plugin to install: seqkit plugins install seqkit-NAME (or a folder)")
    _check_paths(packages + ([editable] if editable else []))
    args = ["install"]
    for flag, on in (("--upgrade", upgrade), ("--force-reinstall", force_reinstall),
                     ("--no-cache-dir", no_cache_dir), ("--pre", pre)):
        if on:
            args.append(flag)
    if editable:
        args += ["--editable", editable]
    args += list(packages) + list(ctx.args)
    _run_pip(args)


@plugins_app.command(context_settings=_PASS_THROUGH)
def uninstall(
    ctx: typer.Context,
    packages: list[str] = typer.Argument(..., metavar="PACKAGE",
                                         help="Plugin distributions to remove (seqkit-text)."),
    yes: bool = typer.Option(True, "--yes/--ask", "-y", help="Do not ask pip for confirmation."),
):
    """Uninstall plugins with pip from the environment seqkit runs in."""
    core = [p for p in packages if p.lower() == "seqkit"]
    if core:
        raise SeqkitError("refusing to uninstall seqkit itself; use `python -m pip uninstall seqkit`")
    _run_pip(["uninstall", *(["-y"] if yes else []), *packages, *ctx.args])


@plugins_app.command()
def new(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Plugin name: lowercase letters, digits and '-' (dna)."),
    directory: Path = typer.Option(Path("."), "--dir", "-d",
                                   help="Folder to create the project in (as seqkit-NAME/)."),
    description: str = typer.Option("", "--description", help="One line about the plugin."),
    author: str = typer.Option("", "--author", help="Author name for pyproject.toml."),
):
    """Create a new plugin project: pyproject with the `seqkit` entry point, a task with a tiny
    dataset, a model, a `train` and a `generate` command, and a passing test."""
    from seqkit.cli.scaffold import create_plugin
    from seqkit.host.plugins import warn

    core, plugged = _command_names(ctx)
    if name in core:
        raise SeqkitError(f"{name!r} is one of seqkit's own commands (seqkit {name}); choose another name")
    root = create_plugin(name, directory, description=description, author=author)
    if name in plugged:
        warn(f"an installed plugin already has a command {name!r} ({plugged[name]}): while both are "
                  f"installed the new plugin's is ignored; rename it or uninstall the other")
    typer.echo(f"Created {root}", err=True)
    typer.echo("Next:\n"
               f"  seqkit plugins install -e {root}\n"
               f"  seqkit {name} --help\n"
               f"  cd {root} && python -m pytest", err=True)
    typer.echo(str(root))


def _command_names(ctx: typer.Context) -> tuple[set[str], dict[str, str]]:
    """Names of core's own commands, and of the commands plugins added (name -> plugin): the root
    command's names less the plugins'."""
    from seqkit.host.command_cache import fill_infos
    from seqkit.host.plugins import plugin_infos

    plugged = {command: info.name for info in fill_infos(plugin_infos())
               for command in info.registered.get("commands", [])}
    root = ctx.find_root()
    return set(root.command.list_commands(root)) - set(plugged), plugged
