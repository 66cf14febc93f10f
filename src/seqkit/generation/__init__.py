"""Generation: generators (``generator``: ``Generator``, ``Param`` and the shared params ...),
sampling with torch (``sampling``) and with NumPy (``np_sampling``), logit processors, and
inference on ONNX Runtime with torch as the fallback (``inference``)::

    from seqkit.generation import FileOutput, OnnxLM, TokenBias, generate_numpy, top_k_param

The names below are imported on first use. The other names of the 0.5 module
``seqkit.generation`` (now ``seqkit.generation.generator``: ``json_default``, ``SEED_MAX`` ...) are
still reached here. The command is built with ``seqkit.generator_command``.
"""

from __future__ import annotations

from seqkit._lazy import lazy_exports

_EXPORTS = {
    # generators: what a task makes on request
    "Generator": "seqkit.generation.generator",
    "Param": "seqkit.generation.generator",
    "Example": "seqkit.generation.generator",
    "Output": "seqkit.generation.generator",
    "FileOutput": "seqkit.generation.generator",
    "Result": "seqkit.generation.generator",
    "RunContext": "seqkit.generation.generator",
    "Cancelled": "seqkit.generation.generator",
    "run_generator": "seqkit.generation.generator",
    "installed_models": "seqkit.generation.generator",
    "found_devices": "seqkit.generation.generator",
    # the shared params (one declaration of each option)
    "count_param": "seqkit.generation.generator",
    "seed_param": "seqkit.generation.generator",
    "temperature_param": "seqkit.generation.generator",
    "top_k_param": "seqkit.generation.generator",
    "top_p_param": "seqkit.generation.generator",
    "model_param": "seqkit.generation.generator",
    "device_param": "seqkit.generation.generator",
    "threads_param": "seqkit.generation.generator",
    "json_param": "seqkit.generation.generator",
    # sampling with torch, and what shapes the next token's distribution
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
}

__all__ = list(_EXPORTS)
_exported, __dir__ = lazy_exports(__name__, _EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return _exported(name)
    if name.startswith("__"):
        raise AttributeError(name)
    import importlib

    module = importlib.import_module("seqkit.generation.generator")  # the 0.5 module's other names
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"module 'seqkit.generation' has no attribute {name!r}") from None
