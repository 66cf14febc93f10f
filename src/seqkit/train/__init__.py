"""Training: the Trainer and its state (``trainer``, ``state``), its settings (``config``), batches,
the run folder, signals, distributed runs, losses, memory models and their streams (``streaming``,
``token_streams``), the TensorBoard sink, the loss plot (``plotting``), and the train command kit
(``kit``)::

    from seqkit.train import TrainConfig, Trainer, TrainRun, carries_memory

The names below are imported on first use (``seqkit.train.TrainConfig`` imports no torch). The
command is built with ``seqkit.train_command``.
"""

from __future__ import annotations

from seqkit._lazy import lazy_exports

_EXPORTS = {
    "Trainer": "seqkit.train.trainer",
    "TrainConfig": "seqkit.train.config",
    "lm_loss": "seqkit.train.trainer",
    "seq2seq_loss": "seqkit.train.trainer",
    "check_run_folder": "seqkit.train.trainer",
    # the train command kit
    "TrainRecipe": "seqkit.train.kit",
    "Arch": "seqkit.train.kit",
    "Architecture": "seqkit.train.kit",
    "Prepared": "seqkit.train.kit",
    "TrainRun": "seqkit.train.kit",
    # models that carry memory across training windows, and the streams they train on
    "MemoryModel": "seqkit.train.streaming",
    "carries_memory": "seqkit.train.streaming",
    "TokenStreams": "seqkit.train.token_streams",
    # the loss curve, and any figure
    "plot_loss_curve": "seqkit.train.plotting",
    "save_figure": "seqkit.train.plotting",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
