"""Hidden-unit activations over ABC text, drawn as heatmaps laid out like the text itself.

The activations come from the checkpoint's ONNX step graph (its ``hidden`` output: the top
layer's output at every character, one call for the whole text) where it has one, else from
the torch model's ``hidden_sequence``; the two agree to float32 rounding (tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqkit import SeqkitError

from .data import header_mask


def activations(model, tok, text: str, device="cpu") -> np.ndarray:
    """``[len(text), hidden]``: the top layer's output after reading each character (a torch
    recurrent model, or an ``OnnxLM`` whose graph has a ``hidden`` output)."""
    from .generator import is_torch_model

    if not hasattr(model, "hidden_sequence") or not getattr(model, "has_hidden", True):
        raise SeqkitError(f"heatmaps need a recurrent model (lstm, gru, rnn), not {type(model).__name__}")
    missing = tok.unknown(text)
    if missing:
        shown = ", ".join(repr(c) for c in missing[:10])
        raise SeqkitError(f"the text has characters the model never saw: {shown}")
    if not is_torch_model(model):
        return np.asarray(model.hidden_sequence(np.array([tok.encode(text)], dtype=np.int64))[0], dtype=np.float32)
    import torch

    idx = torch.tensor([tok.encode(text)], dtype=torch.long, device=device)
    model.eval()
    with torch.no_grad():
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


def _content(ckpt, dev, text: Path | None, temperature: float, seed: int | None) -> str:
    """The text to read: the file's, or one tune sampled from the model (seeded)."""
    if text is not None:
        from .data import read_text

        return read_text(text)
    from .generator import sample_tunes
    from .loading import sampling_rng

    return sample_tunes(ckpt.model, ckpt.tokenizer, ckpt.extra.get("primer", "<start>\nX:"), 1,
                        temperature, 1000, sampling_rng(ckpt, seed, dev), dev)[0].text


def heatmaps(model: str, text: Path | None, generate: bool, neurons: str | None, find: int, out: Path,
             max_chars: int, width: int, temperature: float, seed: int | None, device: str) -> dict:
    """``seqkit abc heatmap``: one PNG per unit (``--neurons``, and the top ``--find`` header
    detectors) in ``out``; returns ``files``, ``units`` and ``ranking`` (:class:`UnitScore`)."""
    from seqkit import check_writable

    from .loading import load_abc_model
    from .sweep import parse_list

    if (text is None) == (not generate):
        raise SeqkitError("give exactly one of --text FILE or --generate")
    if not neurons and not find:
        raise SeqkitError("give --neurons 21,57 or --find K")
    if max_chars < 1 or width < 1:
        raise SeqkitError("--max-chars and --width must be at least 1")
    check_writable(out, "--out", folder=True)
    ckpt, dev = load_abc_model(model, device)
    if ckpt.backend == "onnx" and not getattr(ckpt.model, "has_hidden", False):  # no hidden output (old graph)
        ckpt, dev = load_abc_model(model, device, backend="torch")
    units_in_model = getattr(ckpt.model.config, "hidden", None)
    if units_in_model is not None and find > units_in_model:
        raise SeqkitError(f"--find {find}: this model has only {units_in_model} units")
    # --find ranks units on up to 20,000 characters; only --max-chars of them are drawn
    content = _content(ckpt, dev, text, temperature, seed)[: max(max_chars, 20_000) if find else max_chars]
    acts = activations(ckpt.model, ckpt.tokenizer, content, dev)
    hidden = acts.shape[1]
    units = parse_list(neurons, int, "neurons") if neurons else []
    bad = [u for u in units if not 0 <= u < hidden]
    if bad:
        raise SeqkitError(f"--neurons {', '.join(map(str, bad))}: this model has units 0..{hidden - 1}")
    ranking = header_scores(acts, content)[:find] if find else []
    units += [r.unit for r in ranking if r.unit not in units]
    shown, scores, files = content[:max_chars], {r.unit: r for r in ranking}, []
    for u in units:
        note = f", header-vs-body d={scores[u].score:+.2f}" if u in scores else ""
        files.append(str(draw(shown, acts[: len(shown), u], out / f"neuron_{u:03d}.png",
                              f"{ckpt.path.stem}: unit {u} of {hidden}{note}", width)))
    return {"files": files, "units": units, "ranking": ranking}
