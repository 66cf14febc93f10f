"""The plugin manager.

Plugins are found through entry points in the group ``seqkit``. ``SEQKIT_LOAD_PLUGINS`` limits
which ones load: a comma-separated list of plugin names, or an empty string for none. A plugin that
fails to import, or whose hook raises, is skipped with a one-line warning so that every other
command keeps working.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field

import pluggy

from . import hookspecs
from .errors import PluginConflictError
from .registry import CheckpointFolder, DatasetType, ModelType, Registry, Task, TokenizerType

ENTRY_POINT_GROUP = "seqkit"
LOAD_ENV = "SEQKIT_LOAD_PLUGINS"
# the distributions of the plugins that come with seqkit: they load (and claim names) before any
# other plugin, so that a third-party plugin cannot take over `seqkit names` or its models
BUNDLED = ("seqkit-names", "seqkit-numerals", "seqkit-abc", "seqkit-midi-transformer", "seqkit-compressive")

_HOOK_TYPES = {
    "register_tasks": ("tasks", Task),
    "register_models": ("models", ModelType),
    "register_tokenizers": ("tokenizers", TokenizerType),
    "register_datasets": ("datasets", DatasetType),
    "register_checkpoints": ("checkpoint_folders", CheckpointFolder),
    "register_generators": ("generators", "seqkit.generation:Generator"),  # imported when used
    "register_architectures": ("architectures", "seqkit.train_kit:Architecture"),
}


@dataclass
class PluginInfo:
    name: str
    version: str | None = None
    module: str = ""
    error: str | None = None
    registered: dict[str, list[str]] = field(default_factory=dict)


_pm: pluggy.PluginManager | None = None
_infos: dict[str, PluginInfo] = {}
_registry: Registry | None = None
_warned: set[str] = set()


def warn(message: str) -> None:
    """Print a one-line warning to stderr (once per message and process)."""
    message = " ".join(str(message).split())  # one line, whatever the exception's text
    if message not in _warned:
        _warned.add(message)
        print(f"Warning: {message}", file=sys.stderr)


def _allowed() -> set[str] | None:
    value = os.environ.get(LOAD_ENV)
    if value is None:
        return None
    return {v.strip() for v in value.split(",") if v.strip()}


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every allowed plugin loaded."""
    global _pm
    if _pm is not None:
        return _pm
    pm = pluggy.PluginManager("seqkit")
    pm.add_hookspecs(hookspecs)
    from . import builtins

    pm.register(builtins, name="seqkit")
    from . import __version__

    _infos["seqkit"] = PluginInfo("seqkit", __version__, builtins.__name__)
    allowed = _allowed()
    entry_points = _entry_points()
    unknown = sorted((allowed or set()) - {ep.name for ep in entry_points} - {"seqkit"})
    if unknown:
        installed = ", ".join(sorted({ep.name for ep in entry_points})) or "none"
        warn(f"{LOAD_ENV} names plugin(s) that are not installed: {', '.join(unknown)} "
             f"(installed: {installed})")
    for ep in entry_points:
        if allowed is not None and ep.name not in allowed:
            continue
        if pm.has_plugin(ep.name):  # a second plugin of that name: the first (bundled) one stays
            dist = getattr(ep, "dist", None)
            if ep.value != _infos[ep.name].module:  # (not the same one found twice on sys.path)
                warn(f"plugin {ep.name!r} ({ep.value}{f', from {dist.name}' if dist else ''}) is not loaded: "
                     f"plugin {ep.name!r} ({_infos[ep.name].module}) has that name")
            continue
        dist = getattr(ep, "dist", None)
        info = PluginInfo(ep.name, dist.version if dist else None, ep.value)
        _infos[ep.name] = info
        try:
            with contextlib.redirect_stdout(sys.stderr):  # stdout carries only a command's output
                module = ep.load()
            pm.register(module, name=ep.name)
        except (Exception, SystemExit, KeyboardInterrupt) as exc:  # a broken plugin must not break the CLI
            info.error = f"{type(exc).__name__}: {exc}"
            warn(f"plugin {ep.name!r} failed to load ({info.error}); skipping it")
    _pm = pm
    return pm


def _entry_points():
    """seqkit's entry points: the bundled plugins' first, then the others by name."""
    try:
        from .entry_points import entry_points  # not importlib.metadata: --help must stay fast

        found = entry_points(ENTRY_POINT_GROUP)
    except Exception:  # pragma: no cover - broken metadata
        return []
    return sorted(found, key=lambda ep: (not _is_bundled(ep), ep.name))


def _is_bundled(ep) -> bool:
    dist = getattr(ep, "dist", None)
    name = (getattr(dist, "name", None) or "") if dist is not None else ""
    return name.lower().replace("_", "-") in BUNDLED


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def register_plugin(module, name: str | None = None) -> None:
    """Register an in-process plugin (a module or object with hook implementations).

    Useful in tests and notebooks; resets the registry so the new plugin's hooks are seen.
    """
    global _registry
    pm = get_plugin_manager()
    name = name or getattr(module, "__name__", repr(module))
    pm.register(module, name=name)
    _infos[name] = PluginInfo(name, None, getattr(module, "__name__", ""))
    _registry = None


def unregister_plugin(name: str) -> None:
    global _registry
    pm = get_plugin_manager()
    if pm.has_plugin(name):
        pm.unregister(name=name)
    _infos.pop(name, None)
    _registry = None


def reset() -> None:
    """Forget every loaded plugin (the next lookup reloads them)."""
    global _pm, _registry
    _pm = None
    _registry = None
    _infos.clear()
    _warned.clear()


def _call(hook_name: str, **kwargs):
    """Call each plugin's implementation of a hook on its own, so one failure stays contained.

    In the order the plugins were registered (core, bundled plugins, the others), whatever
    ``tryfirst``/``trylast`` they ask for: where two claim a name, the first keeps it."""
    pm = get_plugin_manager()
    order = {name: i for i, (name, _) in enumerate(pm.list_name_plugin())}
    impls = sorted(getattr(pm.hook, hook_name).get_hookimpls(), key=lambda i: order.get(i.plugin_name, len(order)))
    for impl in impls:
        yield impl.plugin_name, impl.function, kwargs


def get_registry() -> Registry:
    global _registry
    if _registry is not None:
        return _registry
    registry = Registry()
    for hook_name, (kind, expected) in _HOOK_TYPES.items():
        if isinstance(expected, str):  # keep `seqkit --help` from importing what only hooks need
            from .registry import resolve

            expected = resolve(expected)
        for plugin_name, function, _ in _call(hook_name):
            staged: list = []
            try:
                with contextlib.redirect_stdout(sys.stderr):
                    function(register=staged.append)
            except (Exception, SystemExit, KeyboardInterrupt) as exc:
                _failed(plugin_name, hook_name, exc)
                continue
            problems = _invalid(staged, kind, expected)
            if problems:  # the hook is rolled back whole: nothing it registered is kept
                _failed(plugin_name, hook_name, ValueError("; ".join(problems) + "; nothing it registered is kept"))
                continue
            add = registry.adder(kind, plugin_name, expected)
            for item in staged:
                try:
                    add(item)
                except PluginConflictError as exc:  # keep the first, report both, go on
                    info = _infos.setdefault(plugin_name, PluginInfo(plugin_name))
                    info.error = str(exc)
                    warn(f"{exc}; keeping the first")
                    continue
                info = _infos.setdefault(plugin_name, PluginInfo(plugin_name))
                if isinstance(item, CheckpointFolder):  # shown as the task it ships models for
                    info.registered.setdefault("checkpoints", []).append(item.task)
                else:
                    info.registered.setdefault(kind, []).append(item.name)
    _registry = registry
    return registry


def _invalid(items: list, kind: str, expected: type) -> list[str]:
    """What is wrong with the items a hook registered: not the type asked for, or a bad name."""
    from .registry import _check_item

    problems = []
    for item in items:
        if not isinstance(item, expected):
            problems.append(f"register() for {kind} takes a {expected.__name__}, got {item!r}")
            continue
        try:
            _check_item(item)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def register_commands(app) -> None:
    """Let every plugin add its commands to the Typer ``app``: a stand-in for each declared (lazy)
    command, and whatever ``register_commands`` hooks add.

    A command or group name that is already taken (by core or an earlier plugin) keeps its first
    owner; the newcomer's entry is dropped with a one-line warning naming both. A hook that raises
    adds nothing.
    """
    owners = {name: "seqkit" for name in map(_entry_name, _entries(app)) if name}
    for plugin_name, function, hook_name in _command_hooks():
        n_cmds, n_groups = len(app.registered_commands), len(app.registered_groups)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                function(app=app)
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            del app.registered_commands[n_cmds:], app.registered_groups[n_groups:]
            _failed(plugin_name, hook_name, exc)
            continue
        info = _infos.setdefault(plugin_name, PluginInfo(plugin_name))
        added = []
        for table, start in ((app.registered_commands, n_cmds), (app.registered_groups, n_groups)):
            kept = []
            for item in table[start:]:
                name = _entry_name(item)
                other = owners.get(name)
                if name and other is not None and other != plugin_name:
                    message = (f"command {name!r} is registered by both plugin {other!r} and plugin "
                               f"{plugin_name!r} (uninstall one, or choose with {LOAD_ENV})")
                    info.error = message
                    warn(f"{message}; keeping the first")
                    continue
                owners[name] = plugin_name
                added.append(name)
                kept.append(item)
            table[start:] = kept
        info.registered.setdefault("commands", []).extend(sorted(added))


def _command_hooks():
    """``(plugin, function(app), hook name)``: the declared (lazy) commands of every plugin first,
    then the ``register_commands`` hooks, which build their commands at once."""
    from functools import partial

    from .lazy_commands import declare

    for plugin_name, function, _ in _call("register_lazy_commands"):
        yield plugin_name, partial(declare, function, plugin_name=plugin_name), "register_lazy_commands"
    for plugin_name, function, _ in _call("register_commands"):
        yield plugin_name, function, "register_commands"


def _entries(app) -> list:
    return [*app.registered_commands, *app.registered_groups]


def _entry_name(item) -> str:
    """The name a Typer command or sub-app gets on the command line."""
    from typer.main import get_command_name, solve_typer_info_defaults
    from typer.models import CommandInfo

    if isinstance(item, CommandInfo):
        if item.name:
            return item.name
        return get_command_name(item.callback.__name__) if item.callback else ""
    try:
        return solve_typer_info_defaults(item).name or ""
    except Exception:  # pragma: no cover - an odd sub-app; never let naming break the CLI
        return ""


def _failed(plugin_name: str, hook_name: str, exc: BaseException) -> None:
    info = _infos.setdefault(plugin_name, PluginInfo(plugin_name))
    error = f"{hook_name}: {type(exc).__name__}: {exc}"
    info.error = f"{info.error}; {error}" if info.error and error not in info.error else error
    warn(f"plugin {plugin_name!r} failed in {hook_name} ({type(exc).__name__}: {exc}); skipping it")


def plugin_infos() -> list[PluginInfo]:
    """Each loaded (or failed) plugin with what it registered."""
    get_plugin_manager()
    get_registry()
    return sorted(_infos.values(), key=lambda i: (i.name != "seqkit", i.name))
