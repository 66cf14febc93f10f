"""TensorBoard event files for a training run (``--tensorboard``, or ``tensorboard = true`` in the
``[train]`` settings): each evaluation row of ``metrics.jsonl`` also becomes scalars in
``RUN/tensorboard/``, so ``tensorboard --logdir RUN`` shows the run as it goes.

TensorBoard is an optional extra (``pip install tensorboard``, or seqkit's ``[tensorboard]``
extra): it is imported only when a run asks for it.
"""

from __future__ import annotations

from pathlib import Path

from seqkit.errors import SeqkitError

SCALARS = {"train_loss": "loss/train", "val_loss": "loss/val", "train_acc": "accuracy/train",
           "val_acc": "accuracy/val", "lr": "learning_rate"}


def check_available() -> None:
    """A clear error (before training starts) when the ``tensorboard`` package is missing."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise SeqkitError("--tensorboard needs the tensorboard package: pip install tensorboard "
                          "(or pip install 'seqkit[tensorboard]')") from None


class TensorBoardSink:
    """Writes metric rows (``{"step": ..., "train_loss": ..., "val_loss": ...}``) as scalars."""

    def __init__(self, folder: str | Path):
        check_available()
        from torch.utils.tensorboard import SummaryWriter

        self.folder = Path(folder)
        self.writer = SummaryWriter(log_dir=str(self.folder), flush_secs=10)

    def write(self, row: dict) -> None:
        step = int(row.get("step", 0))
        for key, tag in SCALARS.items():
            value = row.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(tag, float(value), step)
        self.writer.flush()  # a run watched live: every evaluation shows at once

    def close(self) -> None:
        self.writer.close()
