"""Hidden-unit activations over ABC text, drawn as heatmaps laid out like the text itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqkit import SeqkitError

from .data import header_mask


@torch.no_grad()
def activations(model, tok, text: str, device="cpu") -> np.ndarray:
    """``[len(text), hidden]``: the top layer's output after reading each character."""
    if not hasattr(model, "hidden_sequence"):
        raise SeqkitError(f"heatmaps need a recurrent model (lstm, gru, rnn), not {type(model).__name__}")
    missing = tok.unknown(text)
    if missing:
        shown = ", ".join(repr(c) for c in missing[:10])
        raise SeqkitError(f"the text has characters the model never saw: {shown}")
    idx = torch.tensor([tok.encode(text)], dtype=torch.long, device=device)
    model.eval()
    return model.hidden_sequence(idx)[0].float().cpu().numpy()


@dataclass
class UnitScore:
    unit: int
    score: float  # standardised difference of means, header minus body
    header_mean: float
    body_mean: float


def rank_units(acts: np.ndarray, mask: list[bool]) -> list[UnitScore]:
    """Units sorted by how strongly they separate header characters from body characters
    (|Cohen's d|: difference of means over the pooled standard deviation)."""
    m = np.asarray(mask[: len(acts)], dtype=bool)
    if m.all() or not m.any():
        raise SeqkitError("--find needs text with both a tune header (X:, T:, K: lines) and a body")
    h, b = acts[m], acts[~m]
    pooled = np.sqrt((h.var(0) + b.var(0)) / 2) + 1e-6
    d = (h.mean(0) - b.mean(0)) / pooled
    order = np.argsort(-np.abs(d))
    return [UnitScore(int(u), float(d[u]), float(h[:, u].mean()), float(b[:, u].mean())) for u in order]


def layout(text: str, width: int) -> list[list[tuple[int, str]]]:
    """Rows of (character index, character): the text's lines, wrapped at ``width``."""
    rows: list[list[tuple[int, str]]] = [[]]
    for i, ch in enumerate(text):
        if ch == "\n":
            rows[-1].append((i, "\u21b5"))  # show the newline's own activation
            rows.append([])
            continue
        if len(rows[-1]) >= width:
            rows.append([])
        rows[-1].append((i, ch))
    if not rows[-1]:
        rows.pop()
    return rows


def draw(text: str, values: np.ndarray, out_png: Path, title: str, width: int = 64) -> Path:
    """One PNG: each character on a cell coloured by ``values`` (-1 blue .. +1 red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = layout(text, width)
    cols = max(len(r) for r in rows)
    grid = np.full((len(rows), cols), np.nan)
    for y, row in enumerate(rows):
        for x, (i, _) in enumerate(row):
            grid[y, x] = values[i]
    fig, ax = plt.subplots(figsize=(0.14 * cols + 1.2, 0.24 * len(rows) + 0.8), dpi=110)
    cmap = matplotlib.colormaps["coolwarm"].with_extremes(bad="white")
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-1, vmax=1, aspect="auto",
                   interpolation="nearest")
    for y, row in enumerate(rows):
        for x, (_, ch) in enumerate(row):
            ax.text(x, y, ch, ha="center", va="center", fontsize=7, family="monospace")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.02, pad=0.01)
    fig.tight_layout()
    from seqkit import save_figure

    return save_figure(fig, out_png)


def header_scores(acts: np.ndarray, text: str) -> list[UnitScore]:
    return rank_units(acts, header_mask(text))
