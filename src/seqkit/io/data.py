"""Data helpers shared by plugins: folders, padding, splits and checksummed downloads."""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from seqkit.errors import SeqkitError

T = TypeVar("T")
APP = "seqkit"


def cache_dir(*parts: str, create: bool = True) -> Path:
    """``platformdirs`` user cache folder for seqkit (``SEQKIT_CACHE_DIR`` overrides), created
    unless ``create=False`` (for reading: a read-only home must not stop that)."""
    base = os.environ.get("SEQKIT_CACHE_DIR")
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir(APP)
    return _folder(Path(base, *parts), create, "cache", "SEQKIT_CACHE_DIR")


def data_dir(*parts: str, create: bool = True) -> Path:
    """``platformdirs`` user data folder for seqkit (``SEQKIT_DATA_DIR`` overrides), created
    unless ``create=False`` (for reading: a read-only home must not stop that)."""
    base = os.environ.get("SEQKIT_DATA_DIR")
    if not base:
        import platformdirs

        base = platformdirs.user_data_dir(APP)
    return _folder(Path(base, *parts), create, "data", "SEQKIT_DATA_DIR")


def _folder(path: Path, create: bool, what: str, env: str) -> Path:
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SeqkitError(f"cannot create seqkit's {what} folder {path} ({exc.strerror or exc}); "
                              f"set {env} to a writable folder") from None
    return path


def folder_problem(path: Path) -> str | None:
    """Why seqkit could not write in ``path`` (which may not exist yet), or None if it can."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def seeded_split(items: Sequence[T], fraction: float, seed: int = 0) -> tuple[list[T], list[T]]:
    """Shuffle with ``seed`` and split off ``fraction`` of the items: ``(kept, held_out)``.

    At least one item is held out when there are two or more items and ``fraction > 0``.
    """
    items = list(items)
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_out = int(round(len(items) * fraction))
    if fraction > 0 and len(items) >= 2:
        n_out = max(1, n_out)
    held = sorted(order[:n_out])
    kept = sorted(order[n_out:])
    return [items[i] for i in kept], [items[i] for i in held]


def pad_sequences(seqs: Sequence[Sequence[int]], pad: int, length: int | None = None,
                  left: bool = False):
    """A ``LongTensor[B, L]`` of the sequences padded with ``pad`` (on the right by default)."""
    import torch

    length = length or max((len(s) for s in seqs), default=0)
    out = torch.full((len(seqs), length), pad, dtype=torch.long)
    for i, s in enumerate(seqs):
        s = list(s)[:length]
        if not s:
            continue
        if left:
            out[i, length - len(s):] = torch.tensor(s, dtype=torch.long)
        else:
            out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def download(url: str, sha256: str | None, filename: str | None = None, folder: str = "downloads",
             progress: bool = True) -> Path:
    """Fetch ``url`` into the cache folder once, checking its SHA-256; returns the file's path.

    A file already in the cache with the right checksum is used as is. The download goes to a
    temporary file that is renamed into place only once its checksum matches. ``sha256=None``
    skips the check: only for callers that verify the content themselves (for example every
    file inside an archive against checksums of their own).
    """
    import urllib.request

    target = cache_dir(folder) / (filename or url.rstrip("/").rsplit("/", 1)[-1])
    if target.exists() and (sha256 is None or sha256_file(target) == sha256):
        return target
    tmp = tempfile.NamedTemporaryFile(dir=target.parent, prefix=target.name, suffix=".part",
                                      delete=False)
    try:
        with tmp, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0)
            from seqkit.progress import progress_bar

            with progress_bar(disable=not progress) as bar:
                task = bar.add_task(f"downloading {target.name}", total=total or None)
                while block := response.read(1 << 16):
                    tmp.write(block)
                    bar.advance(task, len(block))
        got = sha256_file(tmp.name)
        if sha256 is not None and got != sha256:
            raise SeqkitError(f"download of {url} has SHA-256 {got}, expected {sha256}")
        os.replace(tmp.name, target)
    except OSError as exc:
        raise SeqkitError(f"could not download {url}: {exc}") from None
    finally:
        if os.path.exists(tmp.name):
            os.unlink(tmp.name)
    return target
