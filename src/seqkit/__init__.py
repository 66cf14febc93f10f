"""seqkit: a plugin-based toolkit for autoregressive sequence generation with PyTorch.

The public API that plugins may use is what this module exports (``__all__``); everything is
imported lazily, so ``import seqkit`` does not import torch.
"""

from __future__ import annotations

import importlib

from seqkit import _moved

_moved.install()  # the 0.5 module paths (seqkit.training ...) still import, with a warning

__version__ = "0.5.0"

_EXPORTS = {
    # hooks and registry
    "hookimpl": "seqkit.host.hookspecs",
    "HOOKSPEC_VERSION": "seqkit.host.hookspecs",
    "Task": "seqkit.host.registry",
    "CheckpointFolder": "seqkit.host.registry",
    "checkpoint_folders": "seqkit.host.plugins",
    "ModelType": "seqkit.host.registry",
    "TokenizerType": "seqkit.host.registry",
    "DatasetType": "seqkit.host.registry",
    "LazyCommand": "seqkit.host.registry",
    "get_task": "seqkit.host.plugins",
    "get_model_type": "seqkit.host.plugins",
    "get_tokenizer_type": "seqkit.host.plugins",
    "get_dataset": "seqkit.host.plugins",
    "tasks": "seqkit.host.plugins",
    "model_types": "seqkit.host.plugins",
    "tokenizer_types": "seqkit.host.plugins",
    "datasets": "seqkit.host.plugins",
    "register_plugin": "seqkit.host.plugins",
    "get_generator": "seqkit.host.plugins",
    "generators": "seqkit.host.plugins",
    "architectures": "seqkit.host.plugins",
    # generators: what a task makes on request
    "Generator": "seqkit.generation.generator",
    "Param": "seqkit.generation.generator",
    "Example": "seqkit.generation.generator",
    "installed_models": "seqkit.generation.generator",
    "found_devices": "seqkit.generation.generator",
    "Output": "seqkit.generation.generator",
    "FileOutput": "seqkit.generation.generator",
    "Result": "seqkit.generation.generator",
    "RunContext": "seqkit.generation.generator",
    "Cancelled": "seqkit.generation.generator",
    "run_generator": "seqkit.generation.generator",
    "seed_param": "seqkit.generation.generator",
    "temperature_param": "seqkit.generation.generator",
    "top_k_param": "seqkit.generation.generator",
    "top_p_param": "seqkit.generation.generator",
    "count_param": "seqkit.generation.generator",
    "model_param": "seqkit.generation.generator",
    "device_param": "seqkit.generation.generator",
    "threads_param": "seqkit.generation.generator",
    "generator_command": "seqkit.cli.generate",
    # the train command kit
    "TrainRecipe": "seqkit.train.kit",
    "Arch": "seqkit.train.kit",
    "Architecture": "seqkit.train.kit",
    "Prepared": "seqkit.train.kit",
    "TrainRun": "seqkit.train.kit",
    "Renamed": "seqkit.train.kit",
    "train_command": "seqkit.cli.train",
    # the eval command kit
    "EvalRecipe": "seqkit.evaluate.kit",
    "EvalRun": "seqkit.evaluate.kit",
    "eval_command": "seqkit.cli.evaluate",
    "unregister_plugin": "seqkit.host.plugins",
    # errors
    "SeqkitError": "seqkit.errors",
    "CheckpointError": "seqkit.errors",
    # tokenizers
    "Tokenizer": "seqkit.tokenizers",
    "CharTokenizer": "seqkit.tokenizers",
    "WordTokenizer": "seqkit.tokenizers",
    "tokenizer_from_dict": "seqkit.tokenizers",
    # models
    "RNNConfig": "seqkit.models.rnn",
    "RNNLM": "seqkit.models.rnn",
    "TransformerConfig": "seqkit.models.transformer",
    "TransformerLM": "seqkit.models.transformer",
    "MLP": "seqkit.models.transformer",
    # decoding: the cache protocol, RoPE, the weight initialisation (seqkit.models.cache ...)
    "KVCache": "seqkit.models.cache",
    "ring_window": "seqkit.models.cache",
    "restart_window": "seqkit.models.cache",
    "rope_tables": "seqkit.models.rope",
    "apply_rope": "seqkit.models.rope",
    "init_weights": "seqkit.models.init",
    "Seq2SeqConfig": "seqkit.models.seq2seq",
    "GRUSeq2Seq": "seqkit.models.seq2seq",
    "TransformerSeq2Seq": "seqkit.models.seq2seq",
    "check_sizes": "seqkit.models.settings",
    # training and sampling
    "TrainConfig": "seqkit.train.config",
    "Trainer": "seqkit.train.trainer",
    "check_run_folder": "seqkit.train.trainer",
    "lm_loss": "seqkit.train.trainer",
    "seq2seq_loss": "seqkit.train.trainer",
    # models that carry memory across training windows, and the streams they train on
    "MemoryModel": "seqkit.train.streaming",
    "carries_memory": "seqkit.train.streaming",
    "TokenStreams": "seqkit.train.token_streams",
    "stream_batches": "seqkit.evaluate.stream_scoring",
    "count_windows": "seqkit.evaluate.stream_scoring",
    "score_batches": "seqkit.evaluate.stream_scoring",
    "stream_evaluator": "seqkit.evaluate.stream_scoring",
    "generate": "seqkit.generation.sampling",
    "filter_logits": "seqkit.generation.sampling",
    "LogitProcessor": "seqkit.generation.logit_processors",
    "TokenBias": "seqkit.generation.logit_processors",
    # inference without torch (ONNX Runtime), torch as the fallback
    "load_for_inference": "seqkit.generation.inference",
    "backend_setting": "seqkit.generation.inference",
    "OnnxLM": "seqkit.generation.inference",
    "OnnxSeq2Seq": "seqkit.generation.inference",
    "OnnxGraph": "seqkit.generation.inference",
    "GraphMismatch": "seqkit.generation.inference",
    "pick_threads": "seqkit.generation.inference",
    "generate_numpy": "seqkit.generation.np_sampling",
    "filter_logits_numpy": "seqkit.generation.np_sampling",
    "next_token_probs": "seqkit.generation.np_sampling",
    "export_onnx": "seqkit.onnx.export",
    "GraphSpec": "seqkit.onnx.graphs",
    "lm_graph": "seqkit.onnx.graphs",
    # checkpoints
    "Checkpoint": "seqkit.io.checkpoints",
    "save_checkpoint": "seqkit.io.checkpoints",
    "load_checkpoint": "seqkit.io.checkpoints",
    "export_checkpoint": "seqkit.io.checkpoints",
    "read_meta": "seqkit.io.checkpoints",
    "find_checkpoint": "seqkit.io.checkpoints",
    "list_checkpoints": "seqkit.io.checkpoints",
    "user_checkpoint_dir": "seqkit.io.checkpoints",
    "user_checkpoint_path": "seqkit.io.checkpoints",
    "atomic_write_bytes": "seqkit.io.checkpoints",
    "check_writable": "seqkit.io.paths",
    "numbered": "seqkit.io.paths",
    # data, devices, output
    "cache_dir": "seqkit.io.data",
    "data_dir": "seqkit.io.data",
    "seeded_split": "seqkit.io.data",
    "pad_sequences": "seqkit.io.data",
    "download": "seqkit.io.data",
    "sha256_file": "seqkit.io.data",
    "pick_device": "seqkit.device",
    "progress_bar": "seqkit.progress",
    "progress_steps": "seqkit.progress",
    "info": "seqkit.progress",
    "plot_loss_curve": "seqkit.train.plotting",
    "save_figure": "seqkit.train.plotting",
    "seed_everything": "seqkit.options",
}

# names that left the top level: they still import, for one release (until seqkit 0.7), with a
# one-line DeprecationWarning naming their new home
_MOVED = {name: "seqkit_midi_transformer.midi"  # MIDI files: where music lives (symusic declared there)
          for name in ("read_midi", "midi_bytes", "unreadable_midi", "tick_scales", "seconds_of", "tick_seconds")}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None and f"seqkit.{name}" in _moved.MOVED:  # seqkit.training ... without an import
        return importlib.import_module(f"seqkit.{name}")
    if module is None and name in _MOVED:
        import warnings

        warnings.warn(f"seqkit.{name} moved to {_MOVED[name]}.{name}; import it from there "
                      f"(the old name goes in seqkit 0.7)", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    if module is None:
        raise AttributeError(f"module 'seqkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
