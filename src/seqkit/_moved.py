"""Old module paths of seqkit 0.5 (``seqkit.training`` ...) that still import, for one release.

The modules moved into packages in 0.6. A finder on ``sys.meta_path`` (installed by
``import seqkit``) answers an old path with the module at its new home, the very same module
object, and one ``DeprecationWarning`` naming that home.
"""

from __future__ import annotations

import importlib
import sys
from importlib.machinery import ModuleSpec  # (importlib.abc and .util cost 20 ms at every start)

# old path -> new home (seqkit.generation and seqkit.cli are packages now, under their old names)
MOVED = {
    "seqkit.hookspecs": "seqkit.host.hookspecs",
    "seqkit.plugins": "seqkit.host.plugins",
    "seqkit.registry": "seqkit.host.registry",
    "seqkit.entry_points": "seqkit.host.entry_points",
    "seqkit.lazy_commands": "seqkit.host.lazy_commands",
    "seqkit.command_cache": "seqkit.host.command_cache",
    "seqkit.builtins": "seqkit.host.builtins",
    "seqkit.cli_plugins": "seqkit.cli.plugins",
    "seqkit.cli_onnx": "seqkit.cli.onnx",
    "seqkit.doctor": "seqkit.cli.doctor",
    "seqkit.scaffold": "seqkit.cli.scaffold",
    "seqkit.generation_cli": "seqkit.cli.generate",
    "seqkit.train_cli": "seqkit.cli.train",
    "seqkit.eval_cli": "seqkit.cli.evaluate",
    "seqkit.training": "seqkit.train.trainer",
    "seqkit.trainer_state": "seqkit.train.state",
    "seqkit.train_config": "seqkit.train.config",
    "seqkit.train_batches": "seqkit.train.batches",
    "seqkit.distributed": "seqkit.train.distributed",
    "seqkit.train_signals": "seqkit.train.signals",
    "seqkit.run_folder": "seqkit.train.run_folder",
    "seqkit.losses": "seqkit.train.losses",
    "seqkit.train_kit": "seqkit.train.kit",
    "seqkit.streaming": "seqkit.train.streaming",
    "seqkit.token_streams": "seqkit.train.token_streams",
    "seqkit.midi": "seqkit_midi_transformer.midi",  # MIDI files live with the music plugin (symusic declared there)
    "seqkit.tensorboard_sink": "seqkit.train.tensorboard",
    "seqkit.plotting": "seqkit.train.plotting",
    "seqkit.eval_kit": "seqkit.evaluate.kit",
    "seqkit.stream_scoring": "seqkit.evaluate.stream_scoring",
    "seqkit.sampling": "seqkit.generation.sampling",
    "seqkit.np_sampling": "seqkit.generation.np_sampling",
    "seqkit.logit_processors": "seqkit.generation.logit_processors",
    "seqkit.inference": "seqkit.generation.inference",
    "seqkit.onnx_export": "seqkit.onnx.export",
    "seqkit.onnx_graphs": "seqkit.onnx.graphs",
    "seqkit.checkpoints": "seqkit.io.checkpoints",
    "seqkit.paths": "seqkit.io.paths",
    "seqkit.locks": "seqkit.io.locks",
    "seqkit.data": "seqkit.io.data",
}


class _Alias:
    """Finds an old path (a meta path finder); loads it as the module at the new home (its loader)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return ModuleSpec(fullname, self)

    def create_module(self, spec):
        import warnings

        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; the old path goes in the next release",
                      DeprecationWarning, stacklevel=_caller_level())
        return importlib.import_module(new)  # import keeps its own __name__ and __spec__

    def exec_module(self, module):
        pass  # already executed at its new home


def _caller_level() -> int:
    """The stack level of the first frame outside the import machinery (the ``import`` line)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (frame.f_code.co_filename.startswith("<frozen importlib")
                                 or frame.f_code.co_filename == __file__
                                 or "importlib" in frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    return level


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
