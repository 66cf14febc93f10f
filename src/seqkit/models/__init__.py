"""Model building blocks, one readable file each: the core models (``rnn``, ``transformer``,
``seq2seq``), the decoding pieces a Transformer of your own takes from core (``cache``: the KV
cache and its windows; ``rope``: rotary positions; ``init``: the weight initialisation) and the
checks every config makes (``settings``)::

    from seqkit.models import KVCache, RNNConfig, RNNLM, rope_tables

The names below are imported on first use (``import seqkit.models`` imports no torch).
"""

from __future__ import annotations

from seqkit._lazy import lazy_exports

_EXPORTS = {
    # the core models (model types rnn-lm, transformer-lm, gru-seq2seq, transformer-seq2seq)
    "RNNConfig": "seqkit.models.rnn",
    "RNNLM": "seqkit.models.rnn",
    "TransformerConfig": "seqkit.models.transformer",
    "TransformerLM": "seqkit.models.transformer",
    "MLP": "seqkit.models.transformer",
    "Seq2SeqConfig": "seqkit.models.seq2seq",
    "GRUSeq2Seq": "seqkit.models.seq2seq",
    "TransformerSeq2Seq": "seqkit.models.seq2seq",
    # decoding: the cache protocol, RoPE, the weight initialisation
    "KVCache": "seqkit.models.cache",
    "ring_window": "seqkit.models.cache",
    "restart_window": "seqkit.models.cache",
    "rope_tables": "seqkit.models.rope",
    "apply_rope": "seqkit.models.rope",
    "init_weights": "seqkit.models.init",
    # settings
    "check_sizes": "seqkit.models.settings",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
