"""The registered music datasets' readers: which MIDI files, in which split. ``load_maestro``
(MAESTRO v1-v3 metadata) and ``load_midi_folder`` (an ``info.csv``, else a seeded split) are
the datasets ``maestro`` and ``midi-folder``; ``load_paths`` turns the files another plugin's
dataset loader selected into a corpus. Each returns a ``MusicCorpus`` (``corpus.py``), tokenized
and cached by ``token_cache.py``; a ``.npz`` token archive is read as is.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from seqkit import SeqkitError

from .corpus import SPLITS, MusicCorpus, load_token_archive
from .token_cache import build_corpus
from .tokenizer import PerformanceTokenizer

MIDI_SUFFIXES = (".mid", ".midi")


def _check_splits(rows, meta) -> None:
    """Every row's split is one of SPLITS (a file of another split would be silently unused)."""
    bad = sorted({r[1] for r in rows} - set(SPLITS), key=str)
    if bad:
        raise SeqkitError(f"{meta}: unknown split {bad[0]!r} (the split column takes {', '.join(SPLITS)})")


def _want(split: str, splits) -> bool:
    return splits is None or split in splits


def _check_folder(path) -> Path:
    folder = Path(path)
    if not folder.is_dir():
        raise SeqkitError(f"{folder} is not a folder")
    return folder


def maestro_rows(folder: Path) -> list[dict]:
    """The metadata rows of a MAESTRO folder (v1-v3: ``maestro-v*.csv`` or ``maestro-v*.json``)."""
    csvs = sorted(folder.glob("maestro-v*.csv"))
    jsons = sorted(folder.glob("maestro-v*.json"))
    if not csvs and not jsons:
        raise SeqkitError(f"{folder} has no maestro-v*.csv or maestro-v*.json: not a MAESTRO folder "
                          f"(use --dataset midi-folder for a plain folder of MIDI files)")
    meta = csvs[-1] if csvs else jsons[-1]
    try:
        if csvs:
            with open(meta, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        else:
            data = json.loads(meta.read_text(encoding="utf-8"))
            if isinstance(data, dict):  # v3: {column: {row index: value}}
                keys = list(next(iter(data.values())).keys()) if data else []
                rows = [{col: data[col][k] for col in data} for k in keys]
            else:
                rows = data
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # JSON/UTF-8 errors are ValueErrors
        raise SeqkitError(f"{meta} is not readable MAESTRO metadata ({exc})") from None
    if not rows or not isinstance(rows[0], dict) or "midi_filename" not in rows[0] or "split" not in rows[0]:
        raise SeqkitError(f"{folder}: the MAESTRO metadata has no midi_filename/split columns")
    return rows


def load_maestro(path, tokenizer=None, splits=None,
                 workers: int | None = None, progress: bool = True, limit: int = 0) -> MusicCorpus:
    """MAESTRO (v1-v3 layout) as a ``MusicCorpus``; a ``.npz`` token archive is read as is.

    ``splits`` limits the splits tokenized (e.g. ``("validation",)``); ``limit`` keeps the first N
    files of each split (for quick tries).
    """
    if str(path).endswith(".npz"):
        return load_token_archive(path)
    folder = _check_folder(path)
    tokenizer = tokenizer or PerformanceTokenizer()
    rows, counts = [], {}
    for r in maestro_rows(folder):
        split = r["split"]
        if not _want(split, splits):
            continue
        counts[split] = counts.get(split, 0) + 1
        if limit and counts[split] > limit:
            continue
        midi = folder / r["midi_filename"]
        if not midi.exists():
            raise SeqkitError(f"{folder}: {r['midi_filename']} is listed in the metadata but missing")
        rows.append((r["midi_filename"], split, midi))
    _check_splits(rows, folder)
    return build_corpus(rows, tokenizer, str(folder), workers, progress)


def load_midi_folder(path, tokenizer=None, splits=None,
                     workers: int | None = None, progress: bool = True, limit: int = 0,
                     fraction: float = 0.1, seed: int = 0) -> MusicCorpus:
    """Every .mid/.midi below ``path``. Splits come from an ``info.csv`` with ``split`` and
    ``midi_filename`` columns when present (as in Groove MIDI), else a seeded split with
    ``fraction`` of the files each for validation and test."""
    _check_fraction(fraction)
    if str(path).endswith(".npz"):
        return load_token_archive(path)
    folder = _check_folder(path)
    tokenizer = tokenizer or PerformanceTokenizer()
    info_csv = folder / "info.csv"
    rows = []
    if info_csv.exists():
        try:
            with open(info_csv, newline="", encoding="utf-8-sig") as f:
                meta = list(csv.DictReader(f))
        except (ValueError, csv.Error) as exc:  # UnicodeDecodeError is a ValueError
            raise SeqkitError(f"{info_csv} is not a readable CSV ({str(exc)[:120]})") from None
        if meta and {"split", "midi_filename"} <= set(meta[0]):
            rows = [(m["midi_filename"], m["split"], folder / m["midi_filename"]) for m in meta
                    if m["midi_filename"] and (folder / m["midi_filename"]).is_file()]
            _check_splits(rows, info_csv)
    if not rows:
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())
        if not files:
            raise SeqkitError(f"no .mid or .midi files in {folder}")
        rows = split_rows(files, folder, fraction, seed)
    return build_corpus(_select(rows, splits, limit), tokenizer, str(folder), workers, progress)


def _check_fraction(fraction: float) -> None:
    if not 0 <= fraction < 0.5:  # also rejects nan
        raise SeqkitError(f"fraction must be at least 0 and below 0.5 (the share of the files each for "
                          f"validation and test; the rest trains), not {fraction}")


def split_rows(files: list[Path], root: Path | None = None, fraction: float = 0.1,
               seed: int = 0) -> list[tuple[str, str, Path]]:
    """``(name, split, path)`` rows: a seeded split with ``fraction`` of the files each for
    validation and test (all train below 3 files); names relative to ``root`` when inside it."""
    from seqkit import seeded_split

    _check_fraction(fraction)
    files = sorted(Path(f) for f in files)
    train, held = seeded_split(files, 2 * fraction, seed) if len(files) >= 3 else (files, [])
    val, test = held[: (len(held) + 1) // 2], held[(len(held) + 1) // 2:]
    rows = []
    for split, group in (("train", train), ("validation", val), ("test", test)):
        for p in group:
            try:
                name = str(p.relative_to(root)) if root else str(p)
            except ValueError:
                name = str(p)
            rows.append((name, split, p))
    return rows


def _select(rows, splits, limit):
    rows = [r for r in rows if _want(r[1], splits)]
    if limit:
        kept, counts = [], {}
        for r in rows:
            counts[r[1]] = counts.get(r[1], 0) + 1
            if counts[r[1]] <= limit:
                kept.append(r)
        rows = kept
    return rows


def load_paths(paths, tokenizer=None, source: str = "", root=None, splits=None,
               workers: int | None = None, progress: bool = True, limit: int = 0) -> MusicCorpus:
    """A ``MusicCorpus`` from MIDI files another loader selected (e.g. ``lakh-clean-midi``), with
    the seeded 80/10/10 split of ``midi-folder``."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise SeqkitError(f"no MIDI files selected in {source or 'the data'}")
    rows = split_rows(paths, Path(root) if root else None)
    return build_corpus(_select(rows, splits, limit), tokenizer or PerformanceTokenizer(), source, workers, progress)
