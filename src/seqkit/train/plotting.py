"""Loss-curve PNGs (matplotlib, headless: the ``seqkit[plot]`` extra, imported when drawing)."""

from __future__ import annotations

import json
from pathlib import Path

from seqkit.errors import SeqkitError


def pyplot():
    """``matplotlib.pyplot`` on the headless backend; one clear error naming the extra where
    matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        raise SeqkitError("drawing plots needs matplotlib: pip install 'seqkit[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _load(history):
    if isinstance(history, (str, Path)):
        rows = []
        for line in Path(history).read_text().splitlines():
            if line.strip():
                rows.append(json.loads(line))
        return rows
    return list(history)


def save_figure(fig, path) -> Path:
    """Write a matplotlib figure as PNG atomically (temporary file, then rename) and close it."""
    import io

    import matplotlib.pyplot as plt

    from seqkit.io.checkpoints import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def plot_loss_curve(history, out_png, title: str = "loss") -> Path:
    """Plot train/val loss (and val accuracy if present) against steps; returns the PNG path."""
    plt = pyplot()

    rows = [r for r in _load(history) if r.get("event", "eval") == "eval"]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    steps = [r["step"] for r in rows]
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        pts = [(s, r[key]) for s, r in zip(steps, rows) if r.get(key) is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", markersize=3, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    acc = [(s, r["val_acc"]) for s, r in zip(steps, rows) if r.get("val_acc") is not None]
    if acc:
        ax2 = ax.twinx()
        ax2.plot(*zip(*acc), color="tab:green", linestyle="--", label="val accuracy")
        ax2.set_ylabel("token accuracy")
        ax2.set_ylim(0, 1)
        lines = ax.get_legend_handles_labels()
        lines2 = ax2.get_legend_handles_labels()
        ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper right")
    else:
        ax.legend(loc="upper right")
    fig.tight_layout()
    return save_figure(fig, out_png)
