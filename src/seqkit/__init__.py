"""seqkit: a plugin-based toolkit for autoregressive sequence generation with PyTorch.

The public API that plugins may use is what this module exports (``__all__``: every name a
bundled plugin needs; docs/plugins.md, "Public API and compatibility"). The documented packages
(``seqkit.models``, ``seqkit.train`` ...) are where those names live; core's code imports them there.
Everything is imported lazily, so ``import seqkit`` does not import torch.
"""

from __future__ import annotations

import importlib

from seqkit import _moved

_moved.install()  # the 0.5 module paths (seqkit.training ...) still import, with a warning

__version__ = "0.6.1"

# the public API: what a plugin author needs (docs/plugins.md, "Public API and compatibility"), each
# name with the module it lives in; tests/test_public_api.py checks that each is used by a plugin
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
    # --- what the bundled plugins use besides: a plugin imports from `seqkit` only
    # the plugin host: registered tasks, tokenizers, datasets, generators, architectures
    **dict.fromkeys(["architectures", "datasets", "generators", "get_generator", "get_tokenizer_type",
                     "tokenizer_types"], "seqkit.host"),
    # generating: runs, outputs, more parameters, logit processors, sampling without torch
    **dict.fromkeys(["Cancelled", "FileOutput", "RunContext", "TokenBias", "generate_numpy",
                     "threads_param", "top_k_param", "top_p_param"], "seqkit.generation"),
    # training: settings, losses, memory models and their token streams, figures
    **dict.fromkeys(["TokenStreams", "TrainConfig", "carries_memory", "save_figure", "seq2seq_loss"], "seqkit.train"),
    # evaluating over token streams
    **dict.fromkeys(["count_windows", "score_batches", "stream_batches", "stream_evaluator"], "seqkit.evaluate"),
    # model building blocks (nanoGPT-style models are made of these)
    **dict.fromkeys(["KVCache", "MLP", "RNNConfig", "RNNLM", "apply_rope", "check_sizes", "init_weights",
                     "ring_window", "rope_tables"], "seqkit.models"),
    # ONNX export of a model's step graph
    **dict.fromkeys(["GraphSpec", "export_onnx", "lm_graph"], "seqkit.onnx"),
    # files: checkpoint metadata and lists, paths, downloads
    **dict.fromkeys(["check_writable", "download", "list_checkpoints", "numbered", "read_meta",
                     "sha256_file"], "seqkit.io"),
    # tokenizers besides CharTokenizer
    **dict.fromkeys(["WordTokenizer", "tokenizer_from_dict"], "seqkit.tokenizers"),
    # progress bars
    **dict.fromkeys(["progress_bar", "progress_steps"], "seqkit.progress"),
    # the common command-line options and what they set
    **dict.fromkeys(["DataOption", "DeviceOption", "JsonOption", "SeedOption", "TemperatureOption",
                     "ThreadsOption", "check_seed", "seed_everything", "seed_option", "set_threads"], "seqkit.options"),
}

# names that left the top level in 0.6, each with its new home: they still import from `seqkit`,
# for one release (until seqkit 0.7), with a one-line DeprecationWarning naming the new home.
# (docs/migration.md's table is generated from this one; tests/test_public_api.py checks both.)
_MOVED = {
    # the plugin host: versions, lookups, registering by hand
    **dict.fromkeys(["HOOKSPEC_VERSION", "get_task", "get_dataset", "tasks", "model_types", "checkpoint_folders",
                     "register_plugin", "unregister_plugin"], "seqkit.host"),
    # generators, sampling and inference
    **dict.fromkeys(["run_generator", "installed_models", "found_devices", "filter_logits", "LogitProcessor",
                     "backend_setting", "OnnxLM", "OnnxSeq2Seq", "OnnxGraph", "GraphMismatch", "pick_threads",
                     "filter_logits_numpy", "next_token_probs"], "seqkit.generation"),
    # training: the run, memory models, plots
    **dict.fromkeys(["TrainRun", "check_run_folder", "MemoryModel", "plot_loss_curve"], "seqkit.train"),
    # evaluation: its run
    "EvalRun": "seqkit.evaluate",
    # models
    **dict.fromkeys(["TransformerConfig", "TransformerLM", "Seq2SeqConfig", "GRUSeq2Seq", "TransformerSeq2Seq",
                     "restart_window"], "seqkit.models"),
    # files: checkpoints, paths, data
    **dict.fromkeys(["Checkpoint", "save_checkpoint", "user_checkpoint_dir", "user_checkpoint_path", "data_dir"],
                    "seqkit.io"),
    "Tokenizer": "seqkit.tokenizers",
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
