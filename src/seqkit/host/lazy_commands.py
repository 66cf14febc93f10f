"""Plugin commands built only when used (the ``register_lazy_commands`` hook).

A plugin declares each command with a :class:`~seqkit.host.registry.LazyCommand`: a name, a
``"module:attribute"`` target and one line of help. The root app gets a stand-in group per
command: ``seqkit --help`` shows its help line and imports nothing; running the command (or
asking for its help) imports the target, builds the real Click command and hands over to it.
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from seqkit.errors import SeqkitError
from seqkit.host.registry import LazyCommand, resolve


class LazyGroup(TyperGroup):
    """Stands in for a plugin's command until it is used; subclasses carry ``spec``."""

    spec: LazyCommand

    def make_context(self, info_name, args, parent=None, **extra):
        return self.load().make_context(info_name, args, parent=parent, **extra)

    def load(self):
        """The real Click command (built once)."""
        real = self.__dict__.get("_real")
        if real is None:
            real = self.__dict__["_real"] = build(self.spec, getattr(self, "rich_markup_mode", None))
        return real


def build(spec: LazyCommand, rich_markup_mode=None):
    """The Click command for ``spec``, built exactly as ``add_typer``/``command`` would."""
    from typer.main import get_command_from_info, get_group_from_info
    from typer.models import TyperInfo

    try:
        from typer._click import Command
    except ImportError:  # pragma: no cover - older typer on top of click
        from click import Command

    target = resolve(spec.target, f"command {spec.name!r}", spec.plugin)
    if isinstance(target, typer.Typer):
        return get_group_from_info(TyperInfo(target, name=spec.name), pretty_exceptions_short=True,
                                   suggest_commands=True, rich_markup_mode=rich_markup_mode)
    if isinstance(target, Command):
        return target
    if callable(target):
        holder = typer.Typer()
        holder.command(spec.name, context_settings=spec.context_settings)(target)
        return get_command_from_info(holder.registered_commands[0], pretty_exceptions_short=True,
                                     rich_markup_mode=rich_markup_mode)
    who = f" (registered by plugin {spec.plugin!r})" if spec.plugin else ""
    raise SeqkitError(f"command {spec.name!r}{who}: {spec.target!r} is not a Typer app, a function "
                      f"or a Click command")


def declare(hook, app: typer.Typer, plugin_name: str) -> None:
    """Run one plugin's ``register_lazy_commands`` hook and add a stand-in to ``app`` per command."""
    staged: list = []
    hook(register=staged.append)
    for spec in staged:
        if not isinstance(spec, LazyCommand):
            raise TypeError(f"register() for lazy commands takes a LazyCommand, got {spec!r}")
        if not spec.name or not isinstance(spec.name, str):
            raise TypeError(f"a LazyCommand needs a name, got {spec!r}")
        spec.plugin = plugin_name
        add_stand_in(app, spec)


def add_stand_in(app: typer.Typer, spec: LazyCommand) -> None:
    """Add the stand-in group for ``spec`` to ``app``."""
    stand_in = type(f"Lazy_{spec.name}", (LazyGroup,), {"spec": spec})
    app.add_typer(typer.Typer(), name=spec.name, cls=stand_in, help=spec.help or None,
                  no_args_is_help=False)
