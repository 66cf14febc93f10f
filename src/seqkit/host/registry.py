"""What plugins registered: tasks, model types, tokenizer types and datasets.

Everything here is plain Python so that building the registry never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqkit.errors import PluginConflictError, SeqkitError


@dataclass
class Task:
    """A kind of job (``names``, ``music`` ...). ``checkpoints`` is the folder of shipped models."""

    name: str
    description: str = ""
    checkpoints: Path | None = None
    plugin: str = ""


@dataclass
class CheckpointFolder:
    """A folder of shipped checkpoints for ``task``, from any plugin (the task's own folder is
    ``Task.checkpoints``). Names are looked up in the user's folder first, then the task's own
    folder, then these folders in plugin order."""

    task: str
    folder: Path
    plugin: str = ""

    @property
    def name(self) -> str:  # the registry's key: one entry per folder
        return f"{self.task}:{Path(self.folder)}"


def resolve(target, what: str = "", plugin: str = ""):
    """Import ``"package.module:attr"`` on first use; pass anything else through.

    A target that cannot be imported is a :class:`SeqkitError` naming ``what`` was registered
    (e.g. ``model type 'rnn-lm'``), the target and the plugin that registered it.
    """
    if not isinstance(target, str):
        return target
    import importlib

    module_name, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split(".") if attr else []:
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        who = f" (registered by plugin {plugin!r})" if plugin else ""
        raise SeqkitError(
            f"{what or 'target'} cannot be loaded: {target!r}{who} failed with "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return obj


def _check_numbers(model_type: str, config_class, values: dict) -> None:
    """A number setting given something that is not one (``--set hidden=abc``): one error naming it
    (strings that read as the number are left to the config, which may convert them)."""
    import typing

    try:
        hints = typing.get_type_hints(config_class)
    except Exception:  # annotations that cannot be evaluated here: the config checks itself
        return
    for key, value in values.items():
        kind = hints.get(key)
        if kind not in (int, float) or value is None:
            continue
        try:
            ok = not isinstance(value, bool) and (isinstance(value, (int, float) if kind is float else int)
                                                  or (isinstance(value, str) and kind(value) is not None))
        except ValueError:
            ok = False
        if not ok:
            what = "an integer" if kind is int else "a number"
            raise SeqkitError(f"model type {model_type!r}: {key} must be {what}, not {value!r}")


@dataclass
class ModelType:
    """A model architecture.

    ``target`` is the model class, or ``"package.module:Class"`` so that registering it does not
    import torch. The class has a ``config_class`` attribute (a plain dataclass) and is built as
    ``Class(config)``.
    """

    name: str
    target: Any
    description: str = ""
    plugin: str = ""

    def resolve(self):
        return resolve(self.target, f"model type {self.name!r}", self.plugin)

    def make_config(self, values: dict | None = None):
        """The config dataclass from a dict, rejecting unknown settings with a clear error."""
        import dataclasses

        config_class = self.resolve().config_class
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(config_class)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SeqkitError(
                f"model type {self.name!r} has no setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        missing = sorted(f.name for f in dataclasses.fields(config_class) if f.name not in values
                         and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        if missing:
            raise SeqkitError(f"model type {self.name!r} needs the setting(s) {', '.join(missing)}")
        _check_numbers(self.name, config_class, values)
        try:
            return config_class(**values)
        except (ValueError, TypeError, AssertionError) as exc:  # the config's own checks
            raise SeqkitError(f"model type {self.name!r}: {exc}") from None

    def build(self, config):
        """A new model from a config dataclass or dict."""
        if isinstance(config, dict) or config is None:
            config = self.make_config(config)
        try:
            return self.resolve()(config)
        except ValueError as exc:  # a model's own check of its settings (heads that do not divide ...)
            raise SeqkitError(f"model type {self.name!r}: {exc}") from None


@dataclass
class TokenizerType:
    """A tokenizer class (or ``"module:Class"``) with ``to_dict()`` / ``from_dict()``."""

    name: str
    target: Any
    description: str = ""
    plugin: str = ""

    def resolve(self):
        return resolve(self.target, f"tokenizer type {self.name!r}", self.plugin)


@dataclass
class DatasetType:
    """A dataset loader (or ``"module:function"``); what ``load(path, **options)`` returns is up
    to its task."""

    name: str
    load: Any
    description: str = ""
    task: str = ""
    plugin: str = ""

    def resolve(self):
        """The loader function itself (imported on first use), e.g. to read its parameters."""
        return resolve(self.load, f"dataset {self.name!r}", self.plugin)

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)


@dataclass
class LazyCommand:
    """A command (or command group) a plugin adds to ``seqkit``, built only when it is used.

    ``target`` is ``"package.module:attribute"`` naming a ``typer.Typer`` app (a command group,
    like ``app.add_typer(sub, name=NAME)``), a function (one command, like
    ``app.command(NAME)(function)``, with ``context_settings``) or a Click command. ``help`` is
    the one line ``seqkit --help`` shows for it (keep it under about 55 characters); nothing is
    imported for that. The target is imported when the command runs or its help is shown.
    """

    name: str
    target: Any
    help: str = ""
    context_settings: dict | None = None
    plugin: str = ""


@dataclass
class Registry:
    tasks: dict[str, Task] = field(default_factory=dict)
    models: dict[str, ModelType] = field(default_factory=dict)
    tokenizers: dict[str, TokenizerType] = field(default_factory=dict)
    datasets: dict[str, DatasetType] = field(default_factory=dict)
    checkpoint_folders: dict[str, CheckpointFolder] = field(default_factory=dict)
    generators: dict[str, Any] = field(default_factory=dict)
    architectures: dict[str, Any] = field(default_factory=dict)

    def adder(self, kind: str, plugin: str, expected: type) -> Callable[[Any], None]:
        table: dict = getattr(self, kind)

        def register(item):
            if not isinstance(item, expected):
                raise TypeError(f"register() for {kind} takes a {expected.__name__}, got {item!r}")
            check_item(item)
            if item.name in table:
                other = table[item.name].plugin or "seqkit"
                raise PluginConflictError(
                    f"{kind[:-1]} {item.name!r} is registered by both plugin {other!r} and plugin "
                    f"{plugin!r} (uninstall one, or choose with SEQKIT_LOAD_PLUGINS)"
                )
            item.plugin = plugin
            table[item.name] = item

        return register

    def lookup(self, kind: str, what: str, name: str):
        """The entry ``name`` of table ``kind``; else an error naming the close matches and the known."""
        table: dict = getattr(self, kind)
        try:
            return table[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, list(table), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            known = ", ".join(sorted(table)) or "none"
            raise SeqkitError(f"unknown {what} {name!r}{hint} (known: {known})") from None


def check_item(item) -> None:
    """A name that can be a file name (tasks and checkpoint folders name folders) and a folder
    that is a path: else ``ValueError``, and the plugin's entry is skipped with a warning."""
    name = getattr(item, "task", None) if isinstance(item, CheckpointFolder) else item.name
    what = f"{type(item).__name__} name"
    if not isinstance(name, str) or not name or name in (".", "..") or any(c in name for c in "/\\\0") \
            or ".." in name or name != name.strip():
        raise ValueError(f"invalid {what} {name!r}: use a plain name without '/', '\\' or '..'")
    folder = getattr(item, "folder", None) if isinstance(item, CheckpointFolder) else getattr(item, "checkpoints", None)
    if isinstance(item, CheckpointFolder) and not isinstance(folder, (str, Path)):  # None too: a folder is its point
        raise ValueError(f"{what} {name!r}: its checkpoint folder must be a path, not {folder!r}")
    if folder is not None and not isinstance(folder, (str, Path)):
        raise ValueError(f"{what} {name!r}: its checkpoint folder must be a path, not {folder!r}")
