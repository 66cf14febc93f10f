"""Tokenizing MIDI files into a ``MusicCorpus``: in parallel processes with a progress bar, each
file read with symusic (``midi_read``) and its result (with its seconds of music) cached in
``seqkit.io.data.cache_dir("music", tokenizer.cache_key())`` under the SHA-256 of its bytes, so a
second run (or another folder with the same files) reads the cache.

A tokenizer with a fixed vocabulary (``performance``) is cached as token arrays; one whose
vocabulary is learned from the data (``notes-chords``: ``Class.build(step_sequences, **settings)``
and ``tokenizer.steps(midi)``) is cached as steps, and a ``VocabularyBuilder`` learns the
vocabulary from the train split.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqkit import SeqkitError

from .corpus import MusicCorpus, Piece, token_dtype


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


def build_corpus(rows: list[tuple[str, str, Path]], tokenizer, source: str, workers, progress) -> MusicCorpus:
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
