"""ONNX export: writing a checkpoint's graphs (``export``) and the graph specs (``graphs``)::

    from seqkit.onnx import GraphSpec, export_onnx, lm_graph

The ``onnx`` package (the ``seqkit[onnx]`` extra) is imported only when exporting; running the
graphs is ``seqkit.generation``'s (``load_for_inference``, ``OnnxLM`` ...).
"""

from __future__ import annotations

from seqkit._lazy import lazy_exports

_EXPORTS = {
    "export_onnx": "seqkit.onnx.export",
    "GraphSpec": "seqkit.onnx.graphs",
    "lm_graph": "seqkit.onnx.graphs",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
