"""Generation: generators (``generator``: ``Generator``, ``Param`` ...), sampling with torch
(``sampling``) and with NumPy (``np_sampling``), logit processors, and inference on ONNX Runtime
(``inference``).

The names of the 0.5 module ``seqkit.generation`` (now ``seqkit.generation.generator``) are still
reached here.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    import importlib

    module = importlib.import_module("seqkit.generation.generator")
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"module 'seqkit.generation' has no attribute {name!r}") from None
