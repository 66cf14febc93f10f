"""MIDI datasets as cached token arrays, windows for training, and augmentation.

``load_maestro(folder)`` and ``load_midi_folder(folder)`` (registered as the datasets ``maestro`` and
``midi-folder``) return a ``MusicCorpus``: token arrays per split plus the tokenizer. Each piece is
stored as ``[<bos>] + events + [<eos>]``. Tokenizing runs in parallel processes with a progress bar;
each file is read with symusic (``midi_read``) and its result (with its seconds of music) is
cached in ``seqkit.data.cache_dir("music", tokenizer.cache_key())`` under the SHA-256 of its bytes, so a second run (or another folder with the same files) reads the cache.
``MusicCorpus.save(path.npz)`` / ``load_token_archive`` move a tokenized corpus around as one
compressed file; ``--data`` accepts such an archive wherever it accepts a folder.

Any music tokenizer works (see docs/music.md, "Music tokenizers"): one with a fixed vocabulary
(``performance``) is cached as token arrays; one whose vocabulary is learned from the data
(``notes-chords``: ``Class.build(step_sequences, **settings)`` and ``tokenizer.steps(midi)``) is
cached as steps, and a ``VocabularyBuilder`` learns the vocabulary from the train split.
``load_paths(paths)`` turns the MIDI files another plugin's dataset loader selected into a corpus.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqkit import SeqkitError, TokenStreams  # TokenStreams: core's streams, for models that carry memory

from .tokenizer import BOS, EOS, N_SHIFTS, NOTE_OFF, NOTE_ON, PAD, TIME_SHIFT, VELOCITY, PerformanceTokenizer

MIDI_SUFFIXES = (".mid", ".midi")
SPLITS = ("train", "validation", "test")


@dataclass
class Piece:
    name: str
    split: str
    tokens: np.ndarray  # uint16 (int32 for vocabularies over 65,536), [<bos>] + events + [<eos>]
    seconds: float = 0.0  # of music in the file (the end of its last note); 0 when not known


def token_dtype(vocab_size: int):
    return np.uint16 if vocab_size <= 65536 else np.int32


@dataclass
class VocabularyBuilder:
    """A tokenizer type whose vocabulary is learned from the train split: ``cls.build(steps of the
    train pieces, **settings)``. ``probe()`` is the empty-vocabulary tokenizer that reads steps."""

    cls: type
    settings: dict = field(default_factory=dict)

    @property
    def type(self) -> str:
        return getattr(self.cls, "type", self.cls.__name__)

    def probe(self):
        return self.cls.build([], **self.settings)

    def build(self, sequences):
        return self.cls.build(sequences, **self.settings)


def learns_vocabulary(tokenizer) -> bool:
    """Whether ``tokenizer`` (an instance) reads MIDI as steps and encodes them with a vocabulary
    learned from data (``steps`` + a ``build`` classmethod)."""
    return hasattr(tokenizer, "steps") and hasattr(type(tokenizer), "build")


def augmenter(tokenizer):
    """The on-the-fly augmentation ``f(ids, rng) -> ids`` for a tokenizer, or None: the
    performance encoding's transposition and time stretch, else the tokenizer's own ``augment``."""
    if isinstance(tokenizer, PerformanceTokenizer):
        return augment_performance
    return getattr(tokenizer, "augment", None)


@dataclass
class MusicCorpus:
    """Tokenized pieces by split, with the tokenizer that made them."""

    tokenizer: object  # a music tokenizer (PerformanceTokenizer, notes-chords ...)
    pieces: list[Piece] = field(default_factory=list)
    source: str = ""
    failed: list[str] = field(default_factory=list)

    def split(self, name: str) -> list[Piece]:
        return [p for p in self.pieces if p.split == name]

    def arrays(self, name: str) -> list[np.ndarray]:
        return [p.tokens for p in self.pieces if p.split == name]

    def n_tokens(self, name: str | None = None) -> int:
        return int(sum(len(p.tokens) for p in self.pieces if name is None or p.split == name))

    def seconds(self, name: str | None = None) -> float:
        """Seconds of music in a split (0 when the archive predates recording them)."""
        return float(sum(p.seconds for p in self.pieces if name is None or p.split == name))

    def dataset(self, split: str, seq_len: int, augment: bool = False, seed: int = 0,
                random_windows: bool | None = None):
        """A map-style dataset of ``{"input", "target"}`` windows (see ``TokenWindows``)."""
        arrays = self.arrays(split)
        if not arrays:
            raise SeqkitError(f"{self.source or 'the data'} has no pieces in split {split!r}")
        random_windows = (split == "train") if random_windows is None else random_windows
        transform = augmenter(self.tokenizer) if augment else None
        return TokenWindows(arrays, seq_len, augment=transform, random=random_windows, seed=seed,
                            pad_id=self.tokenizer.pad_id)

    def streams(self, split: str, seq_len: int, augment: bool = False, seed: int = 0,
                groups: int = 1) -> TokenStreams:
        """Contiguous training streams (see ``TokenStreams``) for models that carry memories."""
        arrays = self.arrays(split)
        if not arrays:
            raise SeqkitError(f"{self.source or 'the data'} has no pieces in split {split!r}")
        return TokenStreams(arrays, seq_len, augment=augmenter(self.tokenizer) if augment else None, seed=seed,
                            groups=groups)

    def summary(self) -> dict:
        return {s: {"pieces": len(self.split(s)), "tokens": self.n_tokens(s)} for s in SPLITS}

    def save(self, path: str | Path) -> None:
        """One compressed ``.npz`` with every piece (tokens, offsets, names, splits, seconds,
        tokenizer), deflated at level 1: 6x faster to write than ``np.savez_compressed``'s level 6
        for 5% more bytes (MAESTRO v2: 0.7 s, 28.4 MB); ``np.load`` reads it alike."""
        import io
        import zipfile

        from seqkit import atomic_write_bytes

        tokens = np.concatenate([p.tokens for p in self.pieces]).astype(token_dtype(self.tokenizer.vocab_size))
        offsets = np.cumsum([0] + [len(p.tokens) for p in self.pieces]).astype(np.int64)
        arrays = {"tokens": tokens, "offsets": offsets, "names": np.array([p.name for p in self.pieces]),
                  "splits": np.array([p.split for p in self.pieces]),
                  "seconds": np.array([p.seconds for p in self.pieces], dtype=np.float64),
                  "tokenizer": np.array(json.dumps(self.tokenizer.to_dict())), "source": np.array(self.source)}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name, array in arrays.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, array, allow_pickle=False)
        atomic_write_bytes(Path(path), buf.getvalue())


def load_token_archive(path: str | Path) -> MusicCorpus:
    """A corpus saved with ``MusicCorpus.save`` (its tokenizer rebuilt through the registry)."""
    import zipfile
    import zlib

    from seqkit import tokenizer_from_dict

    try:
        z = np.load(path, allow_pickle=False)
        tokens, offsets = z["tokens"], z["offsets"]
        tok = tokenizer_from_dict(json.loads(str(z["tokenizer"])))
        names, splits = z["names"].tolist(), z["splits"].tolist()
        source = str(z["source"]) if "source" in z else str(path)
        seconds = z["seconds"].tolist() if "seconds" in z else [0.0] * len(names)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:  # e.g. truncated
        raise SeqkitError(f"{path} is not a music token archive ({exc})") from None
    pieces = [Piece(n, s, tokens[offsets[i]:offsets[i + 1]], seconds[i]) for i, (n, s) in enumerate(zip(names, splits))]
    return MusicCorpus(tok, pieces, source=source)


# -- tokenizing files (parallel, cached) ----------------------------------------------------------

def _cache_folder(tokenizer) -> Path:
    from seqkit import cache_dir

    key = tokenizer.cache_key() if hasattr(tokenizer, "cache_key") else \
        f"{getattr(tokenizer, 'type', 'tok')}-" + hashlib.sha256(
            json.dumps(tokenizer.to_dict(), sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir("music", key)


def _tuples(x):
    return tuple(_tuples(v) for v in x) if isinstance(x, list) else x


def _read_cached(cached: Path, mode: str):
    """``(result, seconds)`` from a per-file cache entry, or None when it is missing or damaged."""
    if not cached.exists():
        return None
    try:
        if mode == "ids":
            with np.load(cached, allow_pickle=False) as z:
                return z["ids"], float(z["seconds"])
        entry = json.loads(cached.read_text())
        return [_tuples(s) for s in entry["steps"]], float(entry["seconds"])
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None


def _tokenize_file(args) -> tuple[object, float, str]:
    """``(ids array or steps, seconds of music, "")`` for one file, or ``(None, 0, why)``;
    ``mode`` is ``ids`` (encode) or ``steps`` (``tokenizer.steps``, for vocabularies learned
    from the data). The file is read with symusic (``midi_read``)."""
    from seqkit import tokenizer_from_dict

    from .midi_read import load_midi, music_seconds

    path, tok_dict, cache_folder, mode = args
    tok = tokenizer_from_dict(tok_dict)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return None, 0.0, f"{path}: {exc.strerror or exc}"
    suffix = ".npz" if mode == "ids" else ".json"
    cached = Path(cache_folder) / (hashlib.sha256(data).hexdigest()[:40] + suffix)
    hit = _read_cached(cached, mode)
    if hit is not None:
        return hit[0], hit[1], ""
    try:
        midi = load_midi(data, name=str(path))
        seconds = music_seconds(midi)
    except SeqkitError as exc:  # the message names the file
        return None, 0.0, str(exc)
    try:
        if mode == "ids":
            result = np.asarray(tok.encode(midi, add_bos=True, add_eos=True), dtype=token_dtype(tok.vocab_size))
        else:
            result = [_tuples(list(s)) if isinstance(s, (list, tuple)) else s for s in tok.steps(midi)]
    except SeqkitError as exc:
        return None, 0.0, f"{path}: {exc}"
    tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp{suffix}")
    if mode == "ids":
        np.savez(tmp, ids=result, seconds=np.float64(seconds))
    else:
        tmp.write_text(json.dumps({"steps": result, "seconds": seconds}, separators=(",", ":")))
    os.replace(tmp, cached)
    return result, seconds, ""


def _env_workers() -> int:
    """``SEQKIT_WORKERS`` (processes for tokenizing), 0 when unset."""
    value = os.environ.get("SEQKIT_WORKERS", "").strip()
    if not value:
        return 0
    if not value.isdigit():
        raise SeqkitError(f"SEQKIT_WORKERS must be a number of processes, not {value!r}")
    return int(value)


def tokenize_files(paths: list[Path], tokenizer, workers: int | None = None, progress: bool = True,
                   label: str = "tokenizing MIDI", mode: str = "ids", with_seconds: bool = False) -> tuple:
    """Token arrays (``mode="ids"``) or step lists (``mode="steps"``) for ``paths`` (``None``
    where a file failed) and the failure messages; with ``with_seconds`` also each file's
    seconds of music (a third list)."""
    import sys

    from seqkit import progress_bar

    progress = progress and sys.stderr.isatty()  # a bar on a terminal only, never into a pipe or log
    folder = _cache_folder(tokenizer)
    jobs = [(str(p), tokenizer.to_dict(), str(folder), mode) for p in paths]
    workers = workers or _env_workers() or min(len(jobs), os.cpu_count() or 1)
    results: list = [None] * len(jobs)
    seconds: list[float] = [0.0] * len(jobs)
    failed: list[str] = []
    with progress_bar(disable=not progress) as bar:
        task = bar.add_task(label, total=len(jobs))
        if workers <= 1 or len(jobs) <= 1:
            outputs = map(_tokenize_file, jobs)
            pool = None
        else:
            pool = ProcessPoolExecutor(max_workers=workers)
            outputs = pool.map(_tokenize_file, jobs, chunksize=1)
        try:
            for i, (arr, secs, err) in enumerate(outputs):
                results[i], seconds[i] = arr, secs
                if err:
                    failed.append(err)
                bar.advance(task)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    return (results, failed, seconds) if with_seconds else (results, failed)


def _encode_steps(rows, tokenizer, workers, progress):
    """Steps of every file (cached), the vocabulary learned from the train split when
    ``tokenizer`` is a ``VocabularyBuilder``, then the token arrays."""
    probe = tokenizer.probe() if isinstance(tokenizer, VocabularyBuilder) else tokenizer
    steps, failed, seconds = tokenize_files([r[2] for r in rows], probe, workers, progress, mode="steps",
                                            with_seconds=True)
    if isinstance(tokenizer, VocabularyBuilder):
        train = [s for r, s in zip(rows, steps) if s and r[1] == "train"]
        if not train:
            raise SeqkitError(f"no training piece with notes to learn the {tokenizer.type} vocabulary from")
        tokenizer = tokenizer.build(train)
    dtype = token_dtype(tokenizer.vocab_size)
    arrays = [None if s is None else np.asarray(tokenizer.encode(s, add_bos=True, add_eos=True), dtype=dtype)
              for s in steps]
    return tokenizer, arrays, failed, seconds


def _build(rows: list[tuple[str, str, Path]], tokenizer, source: str, workers, progress) -> MusicCorpus:
    if not rows:  # e.g. eval's validation split of a selection of fewer than 3 files (all train)
        raise SeqkitError(f"{source} has no MIDI files in the split(s) asked for")
    if isinstance(tokenizer, VocabularyBuilder) or learns_vocabulary(tokenizer):
        tokenizer, arrays, failed, seconds = _encode_steps(rows, tokenizer, workers, progress)
    else:
        arrays, failed, seconds = tokenize_files([r[2] for r in rows], tokenizer, workers, progress,
                                                 with_seconds=True)
    pieces = [Piece(name, split, arr, secs) for (name, split, _), arr, secs in zip(rows, arrays, seconds)
              if arr is not None and len(arr) > 2]
    if failed:
        from seqkit import info

        info(f"skipped {len(failed)} unreadable MIDI file(s), e.g. {failed[0]}")
    if not pieces and len(failed) == len(rows):
        raise SeqkitError(f"no readable MIDI files in {source}")
    if not pieces:  # readable, but nothing the tokenizer reads (e.g. drums for the piano encoding)
        hint = " (drum tracks are skipped: pass --drums for drum data)" if getattr(tokenizer, "drums", None) is False else ""
        raise SeqkitError(f"no MIDI file in {source} has notes the {getattr(tokenizer, 'type', '')} tokenizer reads{hint}")
    return MusicCorpus(tokenizer, pieces, source=source, failed=failed)


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
    return _build(rows, tokenizer, str(folder), workers, progress)


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
    return _build(_select(rows, splits, limit), tokenizer, str(folder), workers, progress)


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
    return _build(_select(rows, splits, limit), tokenizer or PerformanceTokenizer(), source, workers, progress)


# -- augmentation ---------------------------------------------------------------------------------

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


class TokenWindows:
    """Windows of ``seq_len + 1`` tokens over pieces: ``{"input": [T], "target": [T]}`` (targets
    of padding are -100).

    ``random=False``: consecutive windows covering every token of every piece once
    (deterministic, for eval). ``random=True``: one window per ``seq_len`` tokens of data, at a
    random offset, with optional augmentation: ``augment`` is a function ``f(ids, rng) -> ids``,
    or ``True`` for the performance encoding's (transposition ±3 semitones, time stretch ±2.5/5%).
    Inputs are padded with ``pad_id``.
    """

    def __init__(self, pieces: list[np.ndarray], seq_len: int, augment=None,
                 random: bool = True, seed: int = 0, pad_id: int = PAD):
        self.pieces = pieces
        self.seq_len = int(seq_len)
        self.augment = augment_performance if augment is True else (augment or None)
        self.pad_id = int(pad_id)
        self.random = random
        self.seed = seed
        self._calls = 0
        self.index = []  # (piece, start)
        for j, p in enumerate(pieces):
            n = max(1, -(-(len(p) - 1) // self.seq_len))
            self.index += [(j, k * self.seq_len) for k in range(n)]
        if random:
            lengths = np.array([max(1, len(p) - 1) for p in pieces], dtype=np.float64)
            self.cum = np.cumsum(lengths)

    def __len__(self) -> int:
        return len(self.index)

    def _window(self, i: int) -> np.ndarray:
        L = self.seq_len + 1
        if not self.random:
            j, start = self.index[i]
            return self.pieces[j][start:start + L].astype(np.int64)
        self._calls += 1
        rng = np.random.default_rng((self.seed, i, self._calls))
        j = int(np.searchsorted(self.cum, rng.random() * self.cum[-1], side="right"))
        j = min(j, len(self.pieces) - 1)
        piece = self.pieces[j]
        extra = L // 4 if self.augment else 0
        start = int(rng.integers(0, max(1, len(piece) - L + 1)))
        w = piece[start:start + L + extra].astype(np.int64)
        if self.augment:
            w = self.augment(w, rng)
        return w[:L]

    def __getitem__(self, i: int) -> dict:
        import torch

        w = self._window(i)
        x = np.full(self.seq_len, self.pad_id, dtype=np.int64)
        y = np.full(self.seq_len, -100, dtype=np.int64)
        n = len(w) - 1
        x[:n] = w[:-1]
        y[:n] = w[1:]
        return {"input": torch.from_numpy(x), "target": torch.from_numpy(y)}


def collate(items: list[dict]) -> dict:
    import torch

    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


__all__ = ["MusicCorpus", "Piece", "TokenStreams", "TokenWindows", "VocabularyBuilder", "augment_tokens", "collate",
           "load_maestro", "load_midi_folder", "load_paths", "load_token_archive", "tokenize_files",
           "BOS", "EOS"]
