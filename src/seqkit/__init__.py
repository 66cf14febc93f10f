"""seqkit: a plugin-based toolkit for autoregressive sequence generation with PyTorch.

The public API that plugins may use is what this module exports (``__all__``); everything is
imported lazily, so ``import seqkit`` does not import torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.5.0"

_EXPORTS = {
    # hooks and registry
    "hookimpl": "seqkit.hookspecs",
    "HOOKSPEC_VERSION": "seqkit.hookspecs",
    "Task": "seqkit.registry",
    "CheckpointFolder": "seqkit.registry",
    "checkpoint_folders": "seqkit.registry",
    "ModelType": "seqkit.registry",
    "TokenizerType": "seqkit.registry",
    "DatasetType": "seqkit.registry",
    "LazyCommand": "seqkit.registry",
    "get_task": "seqkit.registry",
    "get_model_type": "seqkit.registry",
    "get_tokenizer_type": "seqkit.registry",
    "get_dataset": "seqkit.registry",
    "tasks": "seqkit.registry",
    "model_types": "seqkit.registry",
    "tokenizer_types": "seqkit.registry",
    "datasets": "seqkit.registry",
    "register_plugin": "seqkit.plugins",
    "get_generator": "seqkit.registry",
    "generators": "seqkit.registry",
    "architectures": "seqkit.registry",
    # generators: what a task makes on request
    "Generator": "seqkit.generation",
    "Param": "seqkit.generation",
    "Example": "seqkit.generation",
    "installed_models": "seqkit.generation",
    "found_devices": "seqkit.generation",
    "Output": "seqkit.generation",
    "FileOutput": "seqkit.generation",
    "Result": "seqkit.generation",
    "RunContext": "seqkit.generation",
    "Cancelled": "seqkit.generation",
    "run_generator": "seqkit.generation",
    "seed_param": "seqkit.generation",
    "temperature_param": "seqkit.generation",
    "top_k_param": "seqkit.generation",
    "top_p_param": "seqkit.generation",
    "count_param": "seqkit.generation",
    "model_param": "seqkit.generation",
    "device_param": "seqkit.generation",
    "threads_param": "seqkit.generation",
    "generator_command": "seqkit.generation_cli",
    # the train command kit
    "TrainRecipe": "seqkit.train_kit",
    "Arch": "seqkit.train_kit",
    "Architecture": "seqkit.train_kit",
    "Prepared": "seqkit.train_kit",
    "TrainRun": "seqkit.train_kit",
    "Renamed": "seqkit.train_kit",
    "train_command": "seqkit.train_cli",
    # the eval command kit
    "EvalRecipe": "seqkit.eval_kit",
    "EvalRun": "seqkit.eval_kit",
    "eval_command": "seqkit.eval_cli",
    "unregister_plugin": "seqkit.plugins",
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
    "TrainConfig": "seqkit.training",
    "Trainer": "seqkit.training",
    "check_run_folder": "seqkit.training",
    "lm_loss": "seqkit.training",
    "seq2seq_loss": "seqkit.training",
    # models that carry memory across training windows, and the streams they train on
    "MemoryModel": "seqkit.streaming",
    "carries_memory": "seqkit.streaming",
    "TokenStreams": "seqkit.token_streams",
    "stream_batches": "seqkit.stream_scoring",
    "count_windows": "seqkit.stream_scoring",
    "score_batches": "seqkit.stream_scoring",
    "stream_evaluator": "seqkit.stream_scoring",
    "generate": "seqkit.sampling",
    "filter_logits": "seqkit.sampling",
    "LogitProcessor": "seqkit.logit_processors",
    "TokenBias": "seqkit.logit_processors",
    # inference without torch (ONNX Runtime), torch as the fallback
    "load_for_inference": "seqkit.inference",
    "backend_setting": "seqkit.inference",
    "OnnxLM": "seqkit.inference",
    "OnnxSeq2Seq": "seqkit.inference",
    "OnnxGraph": "seqkit.inference",
    "GraphMismatch": "seqkit.inference",
    "pick_threads": "seqkit.inference",
    "generate_numpy": "seqkit.np_sampling",
    "filter_logits_numpy": "seqkit.np_sampling",
    "next_token_probs": "seqkit.np_sampling",
    "export_onnx": "seqkit.onnx_export",
    "GraphSpec": "seqkit.onnx_graphs",
    "lm_graph": "seqkit.onnx_graphs",
    # checkpoints
    "Checkpoint": "seqkit.checkpoints",
    "save_checkpoint": "seqkit.checkpoints",
    "load_checkpoint": "seqkit.checkpoints",
    "export_checkpoint": "seqkit.checkpoints",
    "read_meta": "seqkit.checkpoints",
    "find_checkpoint": "seqkit.checkpoints",
    "list_checkpoints": "seqkit.checkpoints",
    "user_checkpoint_dir": "seqkit.checkpoints",
    "user_checkpoint_path": "seqkit.checkpoints",
    "atomic_write_bytes": "seqkit.checkpoints",
    "check_writable": "seqkit.paths",
    "numbered": "seqkit.paths",
    # data, devices, output
    "cache_dir": "seqkit.data",
    "data_dir": "seqkit.data",
    "seeded_split": "seqkit.data",
    "pad_sequences": "seqkit.data",
    "download": "seqkit.data",
    "sha256_file": "seqkit.data",
    "pick_device": "seqkit.device",
    "progress_bar": "seqkit.progress",
    "progress_steps": "seqkit.progress",
    "info": "seqkit.progress",
    "plot_loss_curve": "seqkit.plotting",
    "save_figure": "seqkit.plotting",
    "seed_everything": "seqkit.options",
}

# names that left the top level: they still import, for one release (until seqkit 0.7), with a
# one-line DeprecationWarning naming their new home
_MOVED = {name: "seqkit_midi_transformer.midi"  # MIDI files: where music lives (symusic declared there)
          for name in ("read_midi", "midi_bytes", "unreadable_midi", "tick_scales", "seconds_of", "tick_seconds")}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
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
