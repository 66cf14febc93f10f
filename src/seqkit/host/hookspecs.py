"""Hook specifications: the whole contract between seqkit and its plugins.

A plugin is a module with functions decorated by ``seqkit.hookimpl`` whose names are the hooks
below, exposed through an entry point in the group ``seqkit``::

    [project.entry-points.seqkit]
    myplugin = "seqkit_myplugin"

Each ``register_*`` hook receives a ``register`` callable; call it once per thing you add.
Registration must stay cheap: do not import torch at module level in a plugin's entry module,
import it inside the functions that build models or run commands.

``HOOKSPEC_VERSION`` changes its major number only when a hook's signature changes.
"""

from __future__ import annotations

import pluggy

HOOKSPEC_VERSION = "1.3"

hookspec = pluggy.HookspecMarker("seqkit")
hookimpl = pluggy.HookimplMarker("seqkit")


@hookspec
def register_tasks(register):
    """Add tasks: ``register(Task(name, description, checkpoints=DIR))``."""


@hookspec
def register_checkpoints(register):
    """Ship checkpoints for a task, also one another plugin registered:
    ``register(CheckpointFolder(task, folder))``. (Since hookspec 1.1.)"""


@hookspec
def register_models(register):
    """Add model types: ``register(ModelType(name, target, description))``.

    ``target`` is an ``nn.Module`` class (or ``"module:Class"``) with a dataclass ``config_class``.
    Checkpoints record the model type's name, so every command can load every registered model.
    """


@hookspec
def register_tokenizers(register):
    """Add tokenizer types: ``register(TokenizerType(name, cls, description))``.

    ``cls.from_dict(d)`` must rebuild a tokenizer from ``tokenizer.to_dict()``.
    """


@hookspec
def register_datasets(register):
    """Add dataset loaders: ``register(DatasetType(name, load, description, task))``."""


@hookspec
def register_architectures(register):
    """Offer an architecture to every task that can train it:
    ``register(Architecture(name, model_type, config, train, data="tokens", memory=...))``.

    A task whose :class:`~seqkit.TrainRecipe` says ``offered="tokens"`` (a token LM over any
    tokenizer) lists it among its ``--arch`` choices with the CPU-sized defaults given here, or
    the settings ``tuned`` for that task by the architecture's owner; no line of the task names
    it. (Since hookspec 1.3.)"""


@hookspec
def register_generators(register):
    """Add generators: ``register(Generator(name, run, params, task=..., description=...))``.

    A generator is what a user asks a task to make (names for a country, words for a number, a
    tune, a continuation of a MIDI file). ``run`` is ``"package.module:function"`` so registering
    stays cheap. Core runs it from Python (``seqkit.generation.run_generator``), builds its command line
    (``seqkit.generator_command``) and lists it in ``seqkit plugins``. (Since hookspec 1.2.)
    """


@hookspec
def register_commands(app):
    """Add Typer commands or groups to the root ``app`` (``app.command()``, ``app.add_typer()``).

    Whatever is added here is built at every start of ``seqkit``; ``register_lazy_commands``
    adds commands that cost nothing until used."""


@hookspec
def register_lazy_commands(register):
    """Declare commands that are built only when used:
    ``register(LazyCommand(name, "module:app", help))``. ``seqkit --help`` lists them from their
    one-line ``help`` without importing anything; ``seqkit NAME ...`` imports and builds NAME
    alone. Prefer it to ``register_commands``, which builds every command at every start.
    (Since hookspec 1.2.)"""
