"""Evaluation: the eval command kit (``kit``) and scoring a model over token streams
(``stream_scoring``)::

    from seqkit.evaluate import EvalRun, stream_evaluator

The names below are imported on first use. (``EvalRecipe`` is also ``seqkit.EvalRecipe``; the
command is built with ``seqkit.eval_command``.)
"""

from __future__ import annotations

from seqkit._lazy import lazy_exports

_EXPORTS = {
    "EvalRecipe": "seqkit.evaluate.kit",
    "EvalRun": "seqkit.evaluate.kit",
    # models that carry memory, scored over the streams they read
    "stream_batches": "seqkit.evaluate.stream_scoring",
    "count_windows": "seqkit.evaluate.stream_scoring",
    "score_batches": "seqkit.evaluate.stream_scoring",
    "stream_evaluator": "seqkit.evaluate.stream_scoring",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
