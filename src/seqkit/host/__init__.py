"""The plugin host: hook specifications (``hookspecs``), the host that loads plugins
(``plugins``), what they registered (``registry``), their entry points (``entry_points``), commands
built when used (``lazy_commands``, ``command_cache``) and core's own registrations (``builtins``)::

    from seqkit.host import HOOKSPEC_VERSION, get_tokenizer_type, tasks

The records a hook registers (``Task``, ``ModelType`` ...) are also top-level names of ``seqkit``.
The names below are imported on first use.
"""

from __future__ import annotations

from seqkit._lazy import lazy_exports

_EXPORTS = {
    "hookimpl": "seqkit.host.hookspecs",
    "HOOKSPEC_VERSION": "seqkit.host.hookspecs",
    # the records plugins register
    "Task": "seqkit.host.registry",
    "ModelType": "seqkit.host.registry",
    "TokenizerType": "seqkit.host.registry",
    "DatasetType": "seqkit.host.registry",
    "CheckpointFolder": "seqkit.host.registry",
    "LazyCommand": "seqkit.host.registry",
    # what is registered now
    "get_task": "seqkit.host.plugins",
    "get_model_type": "seqkit.host.plugins",
    "get_tokenizer_type": "seqkit.host.plugins",
    "get_dataset": "seqkit.host.plugins",
    "get_generator": "seqkit.host.plugins",
    "tasks": "seqkit.host.plugins",
    "model_types": "seqkit.host.plugins",
    "tokenizer_types": "seqkit.host.plugins",
    "datasets": "seqkit.host.plugins",
    "generators": "seqkit.host.plugins",
    "architectures": "seqkit.host.plugins",
    "checkpoint_folders": "seqkit.host.plugins",
    # registering a plugin by hand (tests use seqkit.testing.registered)
    "register_plugin": "seqkit.host.plugins",
    "unregister_plugin": "seqkit.host.plugins",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
