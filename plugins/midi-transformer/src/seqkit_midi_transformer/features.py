"""A musical measure beside NLL: per-piece features (MusPy's definitions) and the comparison of a
set of pieces with real music per feature (MGEval's overlapping area and KL divergence).

Per piece, from its non-drum notes read as the performance tokenizer reads them (symusic, the
sustain pedal applied: a generated piece has the pedal baked into its note ends, so real music is
read the same way; for a file without pedal events these are the notes MusPy reads, unless a key is
struck again while it sounds). Times
are seconds; a *beat* is the length of one quarter note at the file's first tempo (MusPy counts
beats in ticks of ``resolution``: the same for a file with one tempo, as MAESTRO's and the
generated files have).

* ``pitch_class_entropy``: MusPy ``pitch_class_entropy``: Shannon entropy (bits) of the
  note-count histogram of the 12 pitch classes.
* ``scale_consistency``: MusPy ``scale_consistency``: the largest share of notes in one major or
  (natural) minor scale, over the 24 scales.
* ``in_key_rate``: MusPy ``pitch_in_scale_rate`` for the piece's key as the Krumhansl-Schmuckler
  key finder picks it (duration-weighted pitch-class profile correlated with the Krumhansl-Kessler
  major/minor profiles; ``key`` names it). It is at most ``scale_consistency``.
* ``polyphony``: MusPy ``polyphony``: the mean number of pitches sounding, over the time when at
  least one sounds (computed exactly on the note intervals instead of on a tick piano roll).
* ``notes_per_second``: notes / (end of the last note - start of the first).
* ``median_ioi``: the median inter-onset interval (s) between successive distinct onsets (onsets
  closer than 10 ms are one onset, the performance tokenizer's grid).
* ``ioi_histogram``: the share of those intervals in the bins of ``IOI_EDGES`` (seconds; the last
  bin is everything from 2 s on). Vector-valued: it enters the comparison through distances only.
* ``pitch_range``: MusPy ``pitch_range``: highest minus lowest pitch (semitones).
* ``velocity_spread``: the standard deviation of the note velocities (population, ddof 0).
* ``empty_beat_rate``: MusPy ``empty_beat_rate``: the share of beats ``0 .. floor(end / beat)``
  in which no note sounds (a note covers the beats from its start's to its end's, both included);
  ``end`` is the last note end or control change of the file (MusPy's track end time).

Comparing sets (``compare_sets``), per feature, with a Gaussian kernel density estimate (Scott's
bandwidth, as ``scipy.stats.gaussian_kde`` and so MGEval use) evaluated on 1,000 points spanning
both samples +/- 4 bandwidths:

* ``oa`` / ``kl``: the distributions of the feature's per-piece values: the overlapping area
  ``integral min(p_real, p_gen)`` (1 = the same distribution) and ``KL(p_real || p_gen)`` (nats;
  both densities normalised on the grid; 0 = the same).
* ``mgeval_oa`` / ``mgeval_kl``: MGEval's (Yang & Lerch 2020) relative measure: the distances
  between the pieces of the real set (intra-set, every pair) against the distances from each
  generated piece to each real piece (inter-set), absolute difference for a number and Euclidean
  distance for the IOI histogram; OA and ``KL(intra_real || inter)`` of those two distributions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from seqkit import SeqkitError

FEATURES = ("pitch_class_entropy", "scale_consistency", "in_key_rate", "polyphony", "notes_per_second",
            "median_ioi", "pitch_range", "velocity_spread", "empty_beat_rate")
VECTOR_FEATURES = ("ioi_histogram",)
IOI_EDGES = (0.0, 0.02, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 1.0, 2.0)  # seconds; last bin: >= 2 s
MAX_NOTES = 50_000  # notes read per piece (a MAESTRO performance has at most ~30,000)
GRID = 1000
ONSET_GRID = 0.01  # s: onsets closer than this are one onset

MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], bool)  # MusPy's _get_scale
MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], bool)
# Krumhansl & Kessler (1982) key profiles, C major / C minor
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


# -- one piece ----------------------------------------------------------------------------------

def read_piece(path: Path, seconds: float | None = None, max_notes: int = MAX_NOTES,
               sustain: bool = True) -> tuple[np.ndarray, float, float]:
    """``(notes [N, 4] (start s, end s, pitch, velocity), beat seconds, end seconds)`` of a MIDI
    file: non-drum notes, sustain pedal applied (unless ``sustain=False``), the first ``max_notes``
    (by start); with ``seconds``, the notes that start before it, cut to end there. The end is
    MusPy's length: the last note end or control change of any track (at most ``seconds``)."""
    from .midi import seconds_of, tick_scales
    from .midi_read import load_midi
    from .tokenizer import midi_notes

    score = load_midi(path)
    beat = tick_scales(score)[0][1] * score.tpq
    notes = midi_notes(score, drums=False, sustain=sustain)
    last = 0
    for tr in score.tracks:
        n, c = tr.notes.numpy(), tr.controls.numpy()
        if len(n["time"]):
            last = max(last, int((n["time"].astype(np.int64) + n["duration"]).max()))
        if len(c["time"]):
            last = max(last, int(c["time"].max()))
    end = max(float(seconds_of([last], tick_scales(score))[0]), float(notes[:, 1].max()) if len(notes) else 0.0)
    if seconds is not None:
        notes = notes[notes[:, 0] < seconds]
        notes[:, 1] = np.minimum(notes[:, 1], seconds)
        end = min(end, seconds)
    return notes[:max_notes], float(beat), end


def _interval_union(start: np.ndarray, end: np.ndarray) -> float:
    """Total length of the union of the intervals ``[start, end)``."""
    keep = end > start
    start, end = start[keep], end[keep]
    if not len(start):
        return 0.0
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    reach = np.maximum.accumulate(end)
    # a new block starts where an interval begins after everything before it has ended
    new = np.ones(len(start), bool)
    new[1:] = start[1:] > reach[:-1]
    block = np.cumsum(new) - 1
    first = start[new]
    last = np.zeros(block[-1] + 1)
    np.maximum.at(last, block, end)
    return float((last - first).sum())


def polyphony(notes: np.ndarray) -> float:
    """MusPy's polyphony: sounding pitches summed over time / time with a pitch sounding (NaN when
    no note lasts)."""
    on = _interval_union(notes[:, 0], notes[:, 1])
    if on <= 0:
        return math.nan
    pitches = notes[:, 2].astype(int)
    total = sum(_interval_union(notes[pitches == p, 0], notes[pitches == p, 1]) for p in np.unique(pitches))
    return total / on


def empty_beat_rate(notes: np.ndarray, beat: float, length: float | None = None) -> float:
    """MusPy's empty-beat rate with beats of ``beat`` seconds over ``length`` seconds (default: the
    last note's end; NaN for an empty piece)."""
    if length is None:
        length = float(notes[:, 1].max()) if len(notes) else 0.0
    if length <= 0:
        return math.nan
    eps = 1e-9  # seconds computed from ticks: a note ending on a beat is on that beat
    n_beats = int(math.floor(length / beat + eps)) + 1
    used = np.zeros(n_beats + 1, np.int64)
    first = np.floor(notes[:, 0] / beat + eps).astype(np.int64)
    last = np.floor(notes[:, 1] / beat + eps).astype(np.int64)
    np.add.at(used, np.clip(first, 0, n_beats), 1)
    np.add.at(used, np.clip(last + 1, 0, n_beats), -1)
    return 1.0 - np.count_nonzero(np.cumsum(used)[:n_beats] > 0) / n_beats


def find_key(notes: np.ndarray) -> tuple[int, str]:
    """``(tonic pitch class, "major"|"minor")`` by the Krumhansl-Schmuckler key finder
    (duration-weighted pitch-class profile, correlation with the Krumhansl-Kessler profiles)."""
    weights = np.maximum(notes[:, 1] - notes[:, 0], 1e-3)
    profile = np.bincount(notes[:, 2].astype(int) % 12, weights=weights, minlength=12)
    best = (-2.0, 0, "major")
    if profile.std() == 0:
        return best[1], best[2]
    for mode, kk in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(profile, np.roll(kk, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def in_scale_rate(pitch_classes: np.ndarray, tonic: int, mode: str) -> float:
    """MusPy's pitch_in_scale_rate: share of notes whose pitch class is in the scale."""
    scale = np.roll(MAJOR if mode == "major" else MINOR, tonic)
    return float(scale[pitch_classes].mean())


def ioi(notes: np.ndarray) -> np.ndarray:
    """Inter-onset intervals (s) between successive distinct onsets (10 ms apart or more)."""
    onsets = np.unique(np.round(notes[:, 0] / ONSET_GRID)) * ONSET_GRID
    return np.diff(onsets)


def piece_features(notes: np.ndarray, beat: float = 0.5, end: float | None = None) -> dict:
    """Every feature of one piece (see the module docstring); ``None`` for a piece with no notes."""
    if len(notes) == 0:
        return None
    pc = notes[:, 2].astype(int) % 12
    counts = np.bincount(pc, minlength=12)
    prob = counts[counts > 0] / len(pc)
    tonic, mode = find_key(notes)
    span = float(notes[:, 1].max() - notes[:, 0].min())
    gaps = ioi(notes)
    hist = np.histogram(np.minimum(gaps, IOI_EDGES[-1]), bins=[*IOI_EDGES, math.inf])[0]
    return {
        "notes": int(len(notes)),
        "seconds": round(float(notes[:, 1].max()), 3),  # the last note end
        "pitch_class_entropy": float(-(prob * np.log2(prob)).sum()),
        "scale_consistency": max(in_scale_rate(pc, t, m) for m in ("major", "minor") for t in range(12)),
        "key": f"{NAMES[tonic]} {mode}",
        "in_key_rate": in_scale_rate(pc, tonic, mode),
        "polyphony": polyphony(notes),
        "notes_per_second": len(notes) / span if span > 0 else math.nan,
        "median_ioi": float(np.median(gaps)) if len(gaps) else math.nan,
        "ioi_histogram": (hist / max(hist.sum(), 1)).tolist(),
        "pitch_range": int(notes[:, 2].max() - notes[:, 2].min()),
        "velocity_spread": float(notes[:, 3].std()),
        "empty_beat_rate": empty_beat_rate(notes, beat, end),
    }


# -- a set of pieces ----------------------------------------------------------------------------

def midi_files(specs: list[Path], what: str, limit: int) -> tuple[list[Path], int]:
    """The MIDI files named or below the folders named (sorted, the first ``limit``), and how many
    there were; one error when there are none."""
    files: list[Path] = []
    for spec in specs:
        if spec.is_dir():
            files += sorted(p for p in spec.rglob("*") if p.suffix.lower() in (".mid", ".midi") and p.is_file())
        elif spec.is_file():
            files.append(spec)
        else:
            raise SeqkitError(f"{what} {spec} does not exist")
    if not files:
        raise SeqkitError(f"{what} {', '.join(map(str, specs))}: no MIDI files (.mid, .midi)")
    return files[:limit] if limit else files, len(files)


def maestro_split(folder: Path, split: str) -> list[Path]:
    """The MIDI files of one split of a MAESTRO folder, in the metadata's order."""
    from .loaders import maestro_rows

    files = [folder / r["midi_filename"] for r in maestro_rows(folder) if r["split"] == split]
    if not files:
        raise SeqkitError(f"{folder}: the MAESTRO metadata lists no {split} pieces")
    return files


def set_features(files: list[Path], seconds: float | None = None,
                 on_piece: Callable[[int], None] | None = None) -> tuple[list[dict], list[str]]:
    """``(features of each piece with notes, the pieces with none or unreadable: "name (why)")``."""
    rows, empty = [], []
    for i, f in enumerate(files):
        try:
            notes, beat, end = read_piece(f, seconds)
        except SeqkitError as exc:  # one unreadable file does not end the run
            empty.append(f"{f} (unreadable: {str(exc)[:120]})")
        else:
            feats = piece_features(notes, beat, end)
            if feats is None:
                empty.append(str(f))
            else:
                rows.append({"file": str(f), **feats})
        if on_piece is not None:
            on_piece(i + 1)
    return rows, empty


# -- comparing two sets -------------------------------------------------------------------------

def _bandwidth(x: np.ndarray) -> float:
    """Scott's rule (scipy's gaussian_kde default): sd (ddof 1) x n^(-1/5); a small positive width
    when every value is the same."""
    sd = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    bw = sd * len(x) ** (-1 / 5)
    return bw if bw > 0 else 1e-3 * max(1.0, abs(float(np.mean(x))))


def _kde(x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    bw = _bandwidth(x)
    z = (grid[:, None] - x[None, :]) / bw
    return np.exp(-0.5 * z * z).sum(1) / (len(x) * bw * math.sqrt(2 * math.pi))


def overlap_and_kl(real: np.ndarray, gen: np.ndarray) -> tuple[float, float]:
    """``(overlapping area, KL(real || gen) in nats)`` of the two samples' Gaussian KDEs (see the
    module docstring); NaN when either sample is empty."""
    real = np.asarray(real, float)[np.isfinite(real)]
    gen = np.asarray(gen, float)[np.isfinite(gen)]
    if len(real) == 0 or len(gen) == 0:
        return math.nan, math.nan
    pad = 4 * max(_bandwidth(real), _bandwidth(gen))
    grid = np.linspace(min(real.min(), gen.min()) - pad, max(real.max(), gen.max()) + pad, GRID)
    p, q = _kde(real, grid), _kde(gen, grid)
    step = grid[1] - grid[0]
    oa = float(np.minimum(p, q).sum() * step)
    p, q = p / p.sum(), q / q.sum()
    tiny = 1e-300
    kl = float(np.sum(np.where(p > 0, p * (np.log(np.maximum(p, tiny)) - np.log(np.maximum(q, tiny))), 0.0)))
    return min(oa, 1.0), max(kl, 0.0)


def _values(rows: list[dict], name: str) -> np.ndarray:
    return np.array([r[name] for r in rows], dtype=float)


def _distances(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Pairwise distances: within ``a`` (every unordered pair) or from each row of ``b`` to each of
    ``a``; rows are vectors (``[n, d]``), numbers are ``[n, 1]``."""
    if b is None:
        i, j = np.triu_indices(len(a), k=1)
        return np.linalg.norm(a[i] - a[j], axis=1)
    return np.linalg.norm(b[:, None, :] - a[None, :, :], axis=2).ravel()


def compare_sets(gen: list[dict], real: list[dict]) -> dict:
    """Per feature: each set's mean and sd, OA/KL of the per-piece distributions and MGEval's
    intra-set (real) against inter-set distance OA/KL (module docstring)."""
    out = {}
    for name in FEATURES + VECTOR_FEATURES:
        g = np.array([np.atleast_1d(r[name]) for r in gen], float)
        q = np.array([np.atleast_1d(r[name]) for r in real], float)
        g, q = g[np.isfinite(g).all(1)], q[np.isfinite(q).all(1)]
        row: dict = {}
        if name in FEATURES:
            row.update(generated_mean=_stat(np.mean, g), generated_sd=_stat(np.std, g),
                       real_mean=_stat(np.mean, q), real_sd=_stat(np.std, q))
            row["oa"], row["kl"] = overlap_and_kl(q[:, 0], g[:, 0])
        if len(q) >= 2 and len(g):
            row["mgeval_oa"], row["mgeval_kl"] = overlap_and_kl(_distances(q), _distances(q, g))
        else:
            row["mgeval_oa"] = row["mgeval_kl"] = math.nan
        out[name] = row
    return out


def _stat(f, x: np.ndarray) -> float:
    return float(f(x[:, 0])) if len(x) else math.nan


# -- the `music score` run ----------------------------------------------------------------------

def reference_files(reference: Path, split: str, limit: int) -> tuple[list[Path], int, str]:
    """``(files, how many there were, label)``: a MAESTRO folder's ``split`` (when it has MAESTRO
    metadata), else the MIDI files below it."""
    if reference.is_dir() and (any(reference.glob("maestro-v*.csv")) or any(reference.glob("maestro-v*.json"))):
        files = maestro_split(reference, split)
        return (files[:limit] if limit else files), len(files), f"{reference} (MAESTRO {split})"
    return *midi_files([reference], "--reference", limit), str(reference)


def score_music(samples: list[Path], reference: Path | None, split: str = "test", seconds: float | None = None,
                limit: int = 200) -> dict:
    """Features of the sample pieces, and (with a reference) the comparison per feature."""
    from seqkit import progress_steps

    files, found = midi_files(samples, "SAMPLES", limit)
    ref, ref_found, label = reference_files(reference, split, limit) if reference is not None else ([], 0, "")
    with progress_steps(len(files) + len(ref), "reading pieces") as advance:
        gen, empty = set_features(files, seconds, lambda k: advance(1))
        real, real_empty = set_features(ref, seconds, lambda k: advance(1))
    if not gen:
        raise SeqkitError(f"none of the {len(files)} sample pieces has a note" + (f" in its first {seconds:g} s"
                                                                                if seconds else ""))
    out = {"samples": {"pieces": len(gen), "files": found, "read": len(files), "empty": empty,
                       "mean": _means(gen)},
           "seconds": seconds, "features": list(FEATURES) + list(VECTOR_FEATURES), "pieces": gen}
    if reference is not None:
        if len(real) < 2:
            raise SeqkitError(f"--reference {reference}: {len(real)} piece(s) with notes; comparing needs two or more")
        out["reference"] = {"source": label,
                            "pieces": len(real), "files": ref_found, "read": len(ref), "empty": real_empty,
                            "mean": _means(real)}
        out["comparison"] = compare_sets(gen, real)
    return out


def _means(rows: list[dict]) -> dict:
    return {name: float(np.nanmean(_values(rows, name))) for name in FEATURES}


def score_lines(r: dict) -> list[str]:
    """The plain-text report of ``score_music``: a table, one feature a row."""
    s = r["samples"]
    lines = [f"samples: {s['pieces']} pieces" + (f" (the first {s['read']} of {s['files']})" if s["read"] < s["files"] else "")
             + (f", first {r['seconds']:g} s of each" if r["seconds"] else "")]
    lines += [f"  left out (no notes): {e}" for e in s["empty"]]
    if "comparison" not in r:
        lines.append(f"  {'feature':<20} {'mean':>9}")
        lines += [f"  {name:<20} {value:>9.3f}" for name, value in s["mean"].items()]
        return lines
    ref = r["reference"]
    lines.append(f"reference: {ref['source']}: {ref['pieces']} pieces"
                 + (f" (the first {ref['read']} of {ref['files']})" if ref["read"] < ref["files"] else ""))
    lines += [f"  left out (no notes): {e}" for e in ref["empty"]]
    lines.append(f"  {'feature':<20} {'samples':>15} {'reference':>15} {'OA':>6} {'KL':>7} {'MGEval OA':>10} {'MGEval KL':>10}")
    for name, c in r["comparison"].items():
        if "oa" in c:
            lines.append(f"  {name:<20} {c['generated_mean']:>7.4g}±{c['generated_sd']:<7.3g} "
                         f"{c['real_mean']:>7.4g}±{c['real_sd']:<7.3g} {c['oa']:>6.3f} {c['kl']:>7.3f} "
                         f"{c['mgeval_oa']:>10.3f} {c['mgeval_kl']:>10.3f}")
        else:
            lines.append(f"  {name:<20} {'':>15} {'':>15} {'':>6} {'':>7} {c['mgeval_oa']:>10.3f} {c['mgeval_kl']:>10.3f}")
    lines.append("  (mean±sd over pieces; OA, KL: the per-piece distributions; MGEval: intra-set distances "
                 "of the reference against sample-to-reference distances)")
    return lines


def json_safe(x):
    """``x`` with every NaN or infinity as ``None`` (valid JSON)."""
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x
