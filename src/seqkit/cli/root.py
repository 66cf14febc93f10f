"""The ``seqkit`` command line: core commands plus whatever plugins add.

Nothing here imports torch at module level: ``seqkit --help`` stays fast.
"""

from __future__ import annotations

import shutil
import sys

import typer
from typer.core import TyperGroup

from seqkit import __version__
from seqkit.errors import SeqkitError, debug_enabled
from seqkit.options import JsonOption

try:  # typer >= 0.2x carries its own copy of click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click.exceptions import UsageError


class SeqkitGroup(TyperGroup):
    """Turns :class:`SeqkitError` and OS errors (missing file, a folder where a file goes, no
    permission, disk full ...) into ``Error: ...`` and exit code 2.

    A usage error in a command (a bad option value, an unknown option) is Click's ``Error: ...``
    alone, on one line (without its ``Try '... -h' for help.`` hint), exit code 2.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SeqkitError as exc:
            if debug_enabled():
                raise
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:  # `seqkit ... | head`: the reader left; nothing to say
            _quiet_stdout()
            raise typer.Exit(0) from None
        except OSError as exc:  # a missing file, a folder where a file goes, a full disk ...
            if debug_enabled():
                raise
            where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            typer.echo(f"Error: {exc.strerror or exc}{where}", err=True)
            raise typer.Exit(2) from None
        except UsageError as exc:
            _usage_error(exc)

    def make_context(self, info_name, args, parent=None, **extra):
        try:  # seqkit's own options (seqkit --bad): the same one line
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as exc:
            _usage_error(exc)


def _quiet_stdout() -> None:
    """Point stdout at the null device, so that Python's flush at exit does not print a second
    BrokenPipeError ("Exception ignored ...") after the reader of a pipe has left."""
    import os
    import sys

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (AttributeError, OSError, ValueError):  # not a real stream (in-process tests)
        pass


def _usage_error(exc) -> None:
    """Click's usage error as one ``Error: ...`` line (no ``Try ... for help.``), exit code 2."""
    if debug_enabled() or type(exc).__name__ == "NoArgsIsHelpError":
        raise exc  # that one prints the help
    typer.echo(f"Error: {' '.join(exc.format_message().split())}", err=True)
    raise typer.Exit(exc.exit_code) from None


def _version(value: bool):
    if value:
        typer.echo(f"seqkit {__version__}")
        raise typer.Exit()


def _root(
    version: bool | None = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="Show the version and exit."),
):
    """seqkit: train and sample autoregressive sequence models; plugins add the tasks."""


def models(
    task: str | None = typer.Option(None, "--task", help="Only this task's checkpoints."),
    as_json: JsonOption = False,
):
    """List checkpoints, shipped and user-trained: task, architecture, size, metrics."""
    from seqkit.host.plugins import get_task
    from seqkit.io.checkpoints import list_checkpoints

    if task:
        get_task(task)
    rows = list_checkpoints(task)
    if as_json:
        import json

        typer.echo(json.dumps(rows, indent=2))
        return
    for line in _models_listing(rows, shutil.get_terminal_size().columns):
        typer.echo(line)
    if not rows:
        typer.echo("No checkpoints found. Install a plugin (seqkit plugins) or train one.", err=True)


def _models_listing(rows: list[dict], width: int) -> list[str]:
    """One line per checkpoint (task, name, origin, model type, params, size), its numeric
    metrics wrapped under it: readable at 80 columns, nothing cut off."""
    import textwrap

    width = max(width, 40)
    table = [("task", "name", "origin", "model type", "params", "size")]
    notes = [""]
    for r in rows:
        if "error" in r:
            table.append(("?", r["name"], r["origin"], "unreadable", "", ""))
            notes.append(r["error"])
            continue
        table.append((r["task"], r["name"], r["origin"], r["model_type"] or "",
                      _human(r.get("parameters") or 0, ""), _human(r["size_bytes"], "B")))
        notes.append(", ".join(f"{k}={_fmt(v)}" for k, v in r["metrics"].items()  # numbers; --json has all
                               if isinstance(v, (int, float))))
    widths = [max(len(row[i]) for row in table) for i in range(6)]
    lines = []
    for row, note in zip(table, notes):
        cells = [c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if note:
            lines += textwrap.wrap(note, width - 1, initial_indent="    ", subsequent_indent="    ",
                                   break_long_words=False, break_on_hyphens=False)
    return lines if rows else []


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _human(n: float, unit: str) -> str:
    for prefix in ("", "k", "M", "G"):
        if abs(n) < 1000:
            return f"{n:.0f}{prefix}{unit}" if not prefix else f"{n:.1f}{prefix}{unit}"
        n /= 1000
    return f"{n:.1f}T{unit}"


def doctor(as_json: JsonOption = False):
    """Check the environment: Python, torch, devices, synthesizer, SoundFonts, folders."""
    from seqkit.cli.doctor import collect

    report = collect()
    if as_json:
        import json

        typer.echo(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        typer.echo(f"{key:>22}: {value}")


def build_app(plugins: bool = True, host=None) -> typer.Typer:
    """The ``seqkit`` Typer app: core's commands, then (with ``plugins``) every plugin's, from the
    command cache when it is still true, else from the plugins of ``host`` (default: the process's
    :func:`~seqkit.host.plugins.default_host`)."""
    from seqkit.cli.onnx import export_onnx_command
    from seqkit.cli.plugins import plugins_app

    app = typer.Typer(
        cls=SeqkitGroup,
        name="seqkit",
        help="Train and sample autoregressive sequence models. Plugins add the tasks.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # plain help: importing rich costs ~0.4 s, and --help must be instant
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    app.add_typer(plugins_app, name="plugins", short_help="List, install, uninstall or create plugins")
    app.command("export-onnx", short_help="Write a checkpoint's ONNX graphs beside it")(export_onnx_command)
    app.command(short_help="Shipped and trained checkpoints with their metrics")(models)
    app.command(short_help="Check Python, torch, devices, synthesizer, folders")(doctor)
    if plugins:
        from seqkit.host import command_cache
        from seqkit.host.plugins import default_host

        host = host or default_host()
        if not command_cache.add_from_cache(app, host):  # unchanged plugins: no plugin is imported
            host.register_commands(app)
            # the other hooks too (cheap: no torch), so that a failing one warns in `seqkit --help`
            # as well; a warning also keeps the command cache from being saved, so it warns every time
            host.registry()
            command_cache.save(app, host)
    return app


def main(argv: list[str] | None = None):
    """Console-script entry point."""
    build_app()(args=argv, prog_name="seqkit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
