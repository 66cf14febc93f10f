"""On-the-fly augmentation of training windows: the performance encoding's transposition and
time stretch (Huang et al. 2018), or a tokenizer's own ``augment``."""

from __future__ import annotations

import numpy as np

from .tokenizer import N_SHIFTS, NOTE_OFF, NOTE_ON, TIME_SHIFT, VELOCITY, PerformanceTokenizer


def augmenter(tokenizer):
    """The on-the-fly augmentation ``f(ids, rng) -> ids`` for a tokenizer, or None: the
    performance encoding's transposition and time stretch, else the tokenizer's own ``augment``."""
    if isinstance(tokenizer, PerformanceTokenizer):
        return augment_performance
    return getattr(tokenizer, "augment", None)


def augment_tokens(tokens: np.ndarray, transpose: int = 0, stretch: float = 1.0) -> np.ndarray:
    """Transpose note events by ``transpose`` semitones and scale every time by ``stretch``
    (vectorised; time shifts are re-split into <= 1 s tokens). Notes leaving 0..127 keep their pitch
    (the whole window is left untransposed)."""
    t = np.asarray(tokens, dtype=np.int64)
    if transpose:
        note = t < TIME_SHIFT
        moved = t + transpose
        lo = np.where(t < NOTE_OFF, NOTE_ON, NOTE_OFF)
        if note.any() and ((moved[note] >= lo[note]) & (moved[note] < lo[note] + 128)).all():
            t = np.where(note, moved, t)
    if stretch == 1.0:
        return t
    is_shift = (t >= TIME_SHIFT) & (t < VELOCITY)
    steps = np.where(is_shift, t - TIME_SHIFT + 1, 0)
    now = np.cumsum(steps)
    events = t[~is_shift]
    times = np.append(now[~is_shift], now[-1])  # plus the time after the last event
    new_times = np.round(times * stretch).astype(np.int64)
    deltas = np.diff(np.concatenate([[0], new_times]))
    n_shift = -(-deltas // N_SHIFTS)  # ceil
    seg = n_shift + 1
    seg[-1] = n_shift[-1]  # the trailing pseudo-event has no token of its own
    out = np.full(int(seg.sum()), TIME_SHIFT + N_SHIFTS - 1, dtype=np.int64)
    starts = np.cumsum(seg) - seg
    has = n_shift > 0
    out[(starts + n_shift - 1)[has]] = TIME_SHIFT + deltas[has] - (n_shift[has] - 1) * N_SHIFTS - 1
    out[(starts + n_shift)[:-1]] = events
    return out


TRANSPOSE = np.arange(-3, 4)
STRETCH = np.array([0.95, 0.975, 1.0, 1.025, 1.05])


def augment_performance(tokens: np.ndarray, rng) -> np.ndarray:
    """The paper's augmentation of performance tokens: a random transposition (-3..+3 semitones)
    and time stretch (0.95 .. 1.05)."""
    return augment_tokens(tokens, int(rng.choice(TRANSPOSE)), float(rng.choice(STRETCH)))
