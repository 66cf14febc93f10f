"""seqkit: a plugin-based toolkit for autoregressive sequence generation with PyTorch.

The public API that plugins may use is what this module exports (``__all__``: what most plugins
need) and the ``__all__`` of the documented packages (``seqkit.models``, ``seqkit.train``,
``seqkit.generation``, ``seqkit.io`` ...; docs/plugins.md, "Public API and compatibility").
Everything is imported lazily, so ``import seqkit`` does not import torch.
"""

from __future__ import annotations

import importlib

from seqkit import _moved

_moved.install()  # the 0.5 module paths (seqkit.training ...) still import, with a warning

__version__ = "0.6.0"

# the public API: what a plugin author needs (docs/plugins.md, "Public API and compatibility");
# everything else lives in the documented packages (seqkit.models, seqkit.train ...)
_EXPORTS = {
    # hooks and the records they register
    "hookimpl": "seqkit.host.hookspecs",
    "Task": "seqkit.host.registry",
    "ModelType": "seqkit.host.registry",
    "TokenizerType": "seqkit.host.registry",
    "DatasetType": "seqkit.host.registry",
    "CheckpointFolder": "seqkit.host.registry",
    "LazyCommand": "seqkit.host.registry",
    "Architecture": "seqkit.train.kit",
    "get_model_type": "seqkit.host.plugins",
    # generators: what a task makes on request, and the command built from one
    "Generator": "seqkit.generation.generator",
    "Param": "seqkit.generation.generator",
    "Example": "seqkit.generation.generator",
    "Output": "seqkit.generation.generator",
    "Result": "seqkit.generation.generator",
    "count_param": "seqkit.generation.generator",
    "seed_param": "seqkit.generation.generator",
    "temperature_param": "seqkit.generation.generator",
    "model_param": "seqkit.generation.generator",
    "device_param": "seqkit.generation.generator",
    "generator_command": "seqkit.cli.generate",
    # the train command kit
    "TrainRecipe": "seqkit.train.kit",
    "Arch": "seqkit.train.kit",
    "Prepared": "seqkit.train.kit",
    "train_command": "seqkit.cli.train",
    # the eval command kit
    "EvalRecipe": "seqkit.evaluate.kit",
    "eval_command": "seqkit.cli.evaluate",
    # errors
    "SeqkitError": "seqkit.errors",
    "CheckpointError": "seqkit.errors",
    # training and sampling
    "Trainer": "seqkit.train.trainer",
    "lm_loss": "seqkit.train.trainer",
    "generate": "seqkit.generation.sampling",
    # checkpoints: find, load (torch or ONNX Runtime), export; writing a file atomically
    "find_checkpoint": "seqkit.io.checkpoints",
    "load_checkpoint": "seqkit.io.checkpoints",
    "load_for_inference": "seqkit.generation.inference",
    "export_checkpoint": "seqkit.io.checkpoints",
    "atomic_write_bytes": "seqkit.io.checkpoints",
    # the helpers most plugins use
    "CharTokenizer": "seqkit.tokenizers",
    "seeded_split": "seqkit.io.data",
    "pad_sequences": "seqkit.io.data",
    "cache_dir": "seqkit.io.data",
    "pick_device": "seqkit.device",
    "info": "seqkit.progress",
}

# names that left the top level in 0.6, each with its new home: they still import from `seqkit`,
# for one release (until seqkit 0.7), with a one-line DeprecationWarning naming the new home.
# (docs/migration.md's table is generated from this one; tests/test_public_api.py checks both.)
_MOVED = {
    # the plugin host: versions, lookups, registering by hand
    **dict.fromkeys(["HOOKSPEC_VERSION", "get_task", "get_tokenizer_type", "get_dataset", "get_generator",
                     "tasks", "model_types", "tokenizer_types", "datasets", "generators", "architectures",
                     "checkpoint_folders", "register_plugin", "unregister_plugin"], "seqkit.host"),
    # generators, sampling and inference
    **dict.fromkeys(["FileOutput", "RunContext", "Cancelled", "run_generator", "installed_models",
                     "found_devices", "top_k_param", "top_p_param", "threads_param", "filter_logits",
                     "LogitProcessor", "TokenBias", "backend_setting", "OnnxLM", "OnnxSeq2Seq", "OnnxGraph",
                     "GraphMismatch", "pick_threads", "generate_numpy", "filter_logits_numpy",
                     "next_token_probs"], "seqkit.generation"),
    # training: its settings, losses, the run, memory models and their streams, plots
    **dict.fromkeys(["TrainConfig", "TrainRun", "seq2seq_loss", "check_run_folder", "MemoryModel",
                     "carries_memory", "TokenStreams", "plot_loss_curve", "save_figure"], "seqkit.train"),
    # evaluation: its run, scoring over streams
    **dict.fromkeys(["EvalRun", "stream_batches", "count_windows", "score_batches", "stream_evaluator"],
                    "seqkit.evaluate"),
    # models and their decoding pieces
    **dict.fromkeys(["RNNConfig", "RNNLM", "TransformerConfig", "TransformerLM", "MLP", "Seq2SeqConfig",
                     "GRUSeq2Seq", "TransformerSeq2Seq", "check_sizes", "KVCache", "ring_window",
                     "restart_window", "rope_tables", "apply_rope", "init_weights"], "seqkit.models"),
    # ONNX export
    **dict.fromkeys(["export_onnx", "GraphSpec", "lm_graph"], "seqkit.onnx"),
    # files: checkpoints, paths, data
    **dict.fromkeys(["Checkpoint", "save_checkpoint", "read_meta", "list_checkpoints", "user_checkpoint_dir",
                     "user_checkpoint_path", "check_writable", "numbered", "data_dir", "download",
                     "sha256_file"], "seqkit.io"),
    **dict.fromkeys(["Tokenizer", "WordTokenizer", "tokenizer_from_dict"], "seqkit.tokenizers"),
    **dict.fromkeys(["progress_bar", "progress_steps"], "seqkit.progress"),
    "seed_everything": "seqkit.options",
    # MIDI files: where music lives (the midi-transformer plugin, which declares symusic)
    **dict.fromkeys(["read_midi", "midi_bytes", "unreadable_midi", "tick_scales", "seconds_of", "tick_seconds"],
                    "seqkit_midi_transformer.midi"),
    # no new home: it does nothing since 0.6 (TrainRecipe's deprecated= went with it)
    "Renamed": None,
}
_GONE = {"Renamed": "seqkit.train.kit"}  # where a name with no new home is kept until 0.7

__all__ = sorted(_EXPORTS) + ["__version__"]


def _moved_message(name: str) -> str:
    """The one line that ``seqkit.NAME`` of a name that left the top level warns with."""
    home = _MOVED[name]
    if home is None:
        return f"seqkit.{name} does nothing since seqkit 0.6 and goes in 0.7; remove it"
    return f"seqkit.{name} moved to {home}.{name}; import it from there (the old name goes in seqkit 0.7)"


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None and f"seqkit.{name}" in _moved.MOVED:  # seqkit.training ... without an import
        return importlib.import_module(f"seqkit.{name}")
    if module is None and name in _MOVED:
        import sys
        import warnings

        if sys._getframe(1).f_code.co_name != "_handle_fromlist":  # `from seqkit import X` asks first
            warnings.warn(_moved_message(name), DeprecationWarning, stacklevel=2)  # (hasattr), then takes X
        return getattr(importlib.import_module(_MOVED[name] or _GONE[name]), name)  # not cached: each use warns
    if module is None:
        raise AttributeError(f"module 'seqkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
