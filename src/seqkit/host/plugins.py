"""The plugin host: the pluggy manager, the loaded plugins and what they registered.

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

from seqkit.errors import PluginConflictError
from seqkit.host import builtins, hookspecs
from seqkit.host.registry import (
    CheckpointFolder,
    DatasetType,
    ModelType,
    Registry,
    Task,
    TokenizerType,
    check_item,
    resolve,
)

ENTRY_POINT_GROUP = "seqkit"
LOAD_ENV = "SEQKIT_LOAD_PLUGINS"
# the distributions of the plugins that come with seqkit: they load (and claim names) before any
# other plugin, so that a third-party plugin cannot take over `seqkit names` or its models
BUNDLED = ("seqkit-names", "seqkit-numerals", "seqkit-abc", "seqkit-midi-transformer", "seqkit-compressive",
           "seqkit-serve")

_HOOK_TYPES = {
    "register_tasks": ("tasks", Task),
    "register_models": ("models", ModelType),
    "register_tokenizers": ("tokenizers", TokenizerType),
    "register_datasets": ("datasets", DatasetType),
    "register_checkpoints": ("checkpoint_folders", CheckpointFolder),
    "register_generators": ("generators", "seqkit.generation.generator:Generator"),  # imported when used
    "register_architectures": ("architectures", "seqkit.train.kit:Architecture"),
}


@dataclass
class PluginInfo:
    name: str
    version: str | None = None
    module: str = ""
    error: str | None = None
    registered: dict[str, list[str]] = field(default_factory=dict)


class PluginHost:
    """The plugins of one process: the pluggy manager (loaded on first use), what each plugin
    registered (:class:`PluginInfo`), the registry built from their hooks, and the warnings
    already given. :func:`default_host` is the one the command line and the lookups use."""

    def __init__(self):
        self._pm: pluggy.PluginManager | None = None
        self._infos: dict[str, PluginInfo] = {}
        self._registry: Registry | None = None
        self._warned: set[str] = set()

    # ------------------------------------------------------------------ warnings
    def warn(self, message: str) -> None:
        """Print a one-line warning to stderr (once per message and host)."""
        message = " ".join(str(message).split())  # one line, whatever the exception's text
        if message not in self._warned:
            self._warned.add(message)
            print(f"Warning: {message}", file=sys.stderr)

    @property
    def warned(self) -> bool:
        """Whether any warning was given."""
        return bool(self._warned)

    @contextlib.contextmanager
    def fresh_warnings(self):
        """Give every warning again inside the block (as a new ``seqkit`` process would); the
        ones given before count as given afterwards."""
        seen = set(self._warned)
        self._warned.clear()
        try:
            yield
        finally:
            self._warned |= seen

    # ------------------------------------------------------------------ loading
    @property
    def loaded(self) -> bool:
        """Whether the plugins are loaded (in-process ones count)."""
        return self._pm is not None

    def entry_points(self) -> list:
        """seqkit's entry points: the bundled plugins' first, then the others by name."""
        try:
            from seqkit.host.entry_points import entry_points  # not importlib.metadata: --help must stay fast

            found = entry_points(ENTRY_POINT_GROUP)
        except Exception:  # pragma: no cover - broken metadata
            return []
        return sorted(found, key=lambda ep: (not _is_bundled(ep), ep.name))

    def manager(self) -> pluggy.PluginManager:
        """The pluggy manager, with every allowed plugin loaded."""
        if self._pm is not None:
            return self._pm
        pm = pluggy.PluginManager("seqkit")
        pm.add_hookspecs(hookspecs)
        pm.register(builtins, name="seqkit")
        from seqkit import __version__

        self._infos["seqkit"] = PluginInfo("seqkit", __version__, builtins.__name__)
        allowed = allowed_plugins()
        entry_points = self.entry_points()
        unknown = sorted((allowed or set()) - {ep.name for ep in entry_points} - {"seqkit"})
        if unknown:
            installed = ", ".join(sorted({ep.name for ep in entry_points})) or "none"
            self.warn(f"{LOAD_ENV} names plugin(s) that are not installed: {', '.join(unknown)} "
                      f"(installed: {installed})")
        for ep in entry_points:
            if allowed is not None and ep.name not in allowed:
                continue
            if pm.has_plugin(ep.name):  # a second plugin of that name: the first (bundled) one stays
                dist = getattr(ep, "dist", None)
                if ep.value != self._infos[ep.name].module:  # (not the same one found twice on sys.path)
                    self.warn(f"plugin {ep.name!r} ({ep.value}{f', from {dist.name}' if dist else ''}) is not "
                              f"loaded: plugin {ep.name!r} ({self._infos[ep.name].module}) has that name")
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, dist.version if dist else None, ep.value)
            self._infos[ep.name] = info
            try:
                with contextlib.redirect_stdout(sys.stderr):  # stdout carries only a command's output
                    module = ep.load()
                pm.register(module, name=ep.name)
            except (Exception, SystemExit, KeyboardInterrupt) as exc:  # a broken plugin must not break the CLI
                info.error = f"{type(exc).__name__}: {exc}"
                self.warn(f"plugin {ep.name!r} failed to load ({info.error}); skipping it")
        self._pm = pm
        return pm

    def register(self, module, name: str | None = None) -> None:
        """Register an in-process plugin; the registry is rebuilt so its hooks are seen."""
        pm = self.manager()
        name = name or getattr(module, "__name__", repr(module))
        pm.register(module, name=name)
        self._infos[name] = PluginInfo(name, None, getattr(module, "__name__", ""))
        self._registry = None

    def unregister(self, name: str) -> None:
        pm = self.manager()
        if pm.has_plugin(name):
            pm.unregister(name=name)
        self._infos.pop(name, None)
        self._registry = None

    def _call(self, hook_name: str):
        """Each plugin's implementation of a hook, to be called on its own so that one failure stays
        contained: ``(plugin name, function)``.

        In the order the plugins were registered (core, bundled plugins, the others), whatever
        ``tryfirst``/``trylast`` they ask for: where two claim a name, the first keeps it."""
        pm = self.manager()
        order = {name: i for i, (name, _) in enumerate(pm.list_name_plugin())}
        impls = sorted(getattr(pm.hook, hook_name).get_hookimpls(),
                       key=lambda i: order.get(i.plugin_name, len(order)))
        for impl in impls:
            yield impl.plugin_name, impl.function

    def _info(self, plugin_name: str) -> PluginInfo:
        return self._infos.setdefault(plugin_name, PluginInfo(plugin_name))

    def _failed(self, plugin_name: str, hook_name: str, exc: BaseException) -> None:
        info = self._info(plugin_name)
        error = f"{hook_name}: {type(exc).__name__}: {exc}"
        info.error = f"{info.error}; {error}" if info.error and error not in info.error else error
        self.warn(f"plugin {plugin_name!r} failed in {hook_name} ({type(exc).__name__}: {exc}); skipping it")

    # ------------------------------------------------------------------ what plugins registered
    def registry(self) -> Registry:
        """Every task, model type, tokenizer type, dataset, checkpoint folder and generator the
        plugins registered (built once)."""
        if self._registry is not None:
            return self._registry
        registry = Registry()
        for hook_name, (kind, expected) in _HOOK_TYPES.items():
            if isinstance(expected, str):  # keep `seqkit --help` from importing what only hooks need
                expected = resolve(expected)
            for plugin_name, function in self._call(hook_name):
                staged: list = []
                try:
                    with contextlib.redirect_stdout(sys.stderr):
                        function(register=staged.append)
                except (Exception, SystemExit, KeyboardInterrupt) as exc:
                    self._failed(plugin_name, hook_name, exc)
                    continue
                problems = _invalid(staged, kind, expected)
                if problems:  # the hook is rolled back whole: nothing it registered is kept
                    self._failed(plugin_name, hook_name,
                                 ValueError("; ".join(problems) + "; nothing it registered is kept"))
                    continue
                add = registry.adder(kind, plugin_name, expected)
                for item in staged:
                    try:
                        add(item)
                    except PluginConflictError as exc:  # keep the first, report both, go on
                        self._info(plugin_name).error = str(exc)
                        self.warn(f"{exc}; keeping the first")
                        continue
                    info = self._info(plugin_name)
                    if isinstance(item, CheckpointFolder):  # shown as the task it ships models for
                        info.registered.setdefault("checkpoints", []).append(item.task)
                    else:
                        info.registered.setdefault(kind, []).append(item.name)
        self._registry = registry
        return registry

    def plugin_infos(self) -> list[PluginInfo]:
        """Each loaded (or failed) plugin with what it registered."""
        self.manager()
        self.registry()
        return sorted(self._infos.values(), key=lambda i: (i.name != "seqkit", i.name))

    def plugin_modules(self) -> dict[str, object]:
        """The loaded plugins by name (core's own ``seqkit`` left out)."""
        return {name: plugin for name, plugin in self.manager().list_name_plugin() if name != "seqkit"}

    def has_eager_commands(self) -> bool:
        """Whether any plugin implements ``register_commands`` (commands built at once)."""
        return bool(self.manager().hook.register_commands.get_hookimpls())

    # ------------------------------------------------------------------ commands
    def register_commands(self, app) -> None:
        """Let every plugin add its commands to the Typer ``app``: a stand-in for each declared (lazy)
        command, and whatever ``register_commands`` hooks add.

        A command or group name that is already taken (by core or an earlier plugin) keeps its first
        owner; the newcomer's entry is dropped with a one-line warning naming both. A hook that raises
        adds nothing.
        """
        owners = {name: "seqkit" for name in map(entry_name, _entries(app)) if name}
        for plugin_name, function, hook_name in self._command_hooks():
            n_cmds, n_groups = len(app.registered_commands), len(app.registered_groups)
            try:
                with contextlib.redirect_stdout(sys.stderr):
                    function(app=app)
            except (Exception, SystemExit, KeyboardInterrupt) as exc:
                del app.registered_commands[n_cmds:], app.registered_groups[n_groups:]
                self._failed(plugin_name, hook_name, exc)
                continue
            info = self._info(plugin_name)
            added = []
            for table, start in ((app.registered_commands, n_cmds), (app.registered_groups, n_groups)):
                kept = []
                for item in table[start:]:
                    name = entry_name(item)
                    other = owners.get(name)
                    if name and other is not None and other != plugin_name:
                        message = (f"command {name!r} is registered by both plugin {other!r} and plugin "
                                   f"{plugin_name!r} (uninstall one, or choose with {LOAD_ENV})")
                        info.error = message
                        self.warn(f"{message}; keeping the first")
                        continue
                    owners[name] = plugin_name
                    added.append(name)
                    kept.append(item)
                table[start:] = kept
            info.registered.setdefault("commands", []).extend(sorted(added))

    def _command_hooks(self):
        """``(plugin, function(app), hook name)``: the declared (lazy) commands of every plugin first,
        then the ``register_commands`` hooks, which build their commands at once."""
        from functools import partial

        from seqkit.host.lazy_commands import declare

        for plugin_name, function in self._call("register_lazy_commands"):
            yield plugin_name, partial(declare, function, plugin_name=plugin_name), "register_lazy_commands"
        for plugin_name, function in self._call("register_commands"):
            yield plugin_name, function, "register_commands"


_default: PluginHost | None = None


def default_host() -> PluginHost:
    """The process's plugin host (made on first use; :func:`reset` replaces it)."""
    global _default
    if _default is None:
        _default = PluginHost()
    return _default


def reset() -> None:
    """Forget every loaded plugin and warning (the next lookup reloads them)."""
    global _default
    _default = None


def allowed_plugins() -> set[str] | None:
    """The plugins ``SEQKIT_LOAD_PLUGINS`` allows (``None``: all)."""
    value = os.environ.get(LOAD_ENV)
    if value is None:
        return None
    return {v.strip() for v in value.split(",") if v.strip()}


def _is_bundled(ep) -> bool:
    dist = getattr(ep, "dist", None)
    name = (getattr(dist, "name", None) or "") if dist is not None else ""
    return name.lower().replace("_", "-") in BUNDLED


def _invalid(items: list, kind: str, expected: type) -> list[str]:
    """What is wrong with the items a hook registered: not the type asked for, or a bad name."""
    problems = []
    for item in items:
        if not isinstance(item, expected):
            problems.append(f"register() for {kind} takes a {expected.__name__}, got {item!r}")
            continue
        try:
            check_item(item)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def _entries(app) -> list:
    return [*app.registered_commands, *app.registered_groups]


# ---------------------------------------------------------------------- the default host's API

def warn(message: str) -> None:
    """Print a one-line warning to stderr (once per message and process)."""
    default_host().warn(message)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every allowed plugin loaded."""
    return default_host().manager()


def register_plugin(module, name: str | None = None) -> None:
    """Register an in-process plugin (a module or object with hook implementations).

    Useful in tests and notebooks; resets the registry so the new plugin's hooks are seen.
    """
    default_host().register(module, name)


def unregister_plugin(name: str) -> None:
    default_host().unregister(name)


def get_registry() -> Registry:
    return default_host().registry()


def register_commands(app) -> None:
    """Let every plugin add its commands to ``app`` (see :meth:`PluginHost.register_commands`)."""
    default_host().register_commands(app)


def plugin_infos() -> list[PluginInfo]:
    """Each loaded (or failed) plugin with what it registered."""
    return default_host().plugin_infos()


def tasks() -> dict[str, Task]:
    return get_registry().tasks


def checkpoint_folders(task: str | None = None) -> list[CheckpointFolder]:
    """Folders of shipped checkpoints that plugins registered (for ``task``, or all)."""
    return [f for f in get_registry().checkpoint_folders.values() if task is None or f.task == task]


def model_types() -> dict[str, ModelType]:
    return get_registry().models


def tokenizer_types() -> dict[str, TokenizerType]:
    return get_registry().tokenizers


def datasets() -> dict[str, DatasetType]:
    return get_registry().datasets


def generators() -> dict:
    """Every registered :class:`~seqkit.generation.generator.Generator`, by name."""
    return get_registry().generators


def architectures(data: str | None = None) -> dict:
    """Every :class:`~seqkit.train.kit.Architecture` a plugin offers (for ``data``, e.g. ``"tokens"``, or all)."""
    return {n: a for n, a in get_registry().architectures.items() if data is None or a.data == data}


def get_generator(name: str):
    return get_registry().lookup("generators", "generator", name)


def get_task(name: str) -> Task:
    return get_registry().lookup("tasks", "task", name)


def get_model_type(name: str) -> ModelType:
    return get_registry().lookup("models", "model type", name)


def get_tokenizer_type(name: str) -> TokenizerType:
    return get_registry().lookup("tokenizers", "tokenizer type", name)


def get_dataset(name: str) -> DatasetType:
    return get_registry().lookup("datasets", "dataset", name)


def entry_name(item) -> str:
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
