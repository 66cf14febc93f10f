"""A tokenized music corpus: pieces (token arrays) by split with the tokenizer that made them,
saved to and read from one compressed ``.npz`` token archive (``--data`` takes such an archive
wherever it takes a folder). Each piece is stored as ``[<bos>] + events + [<eos>]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqkit import SeqkitError, TokenStreams

from .augment import augmenter
from .windows import TokenWindows

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
                random_windows: bool | None = None, labels: dict | None = None):
        """A map-style dataset of ``{"input", "target"}`` windows (see ``TokenWindows``); with
        ``labels`` (piece name -> cond id) each window also has its piece's ``"cond"``."""
        arrays = self.arrays(split)
        conds = [labels[p.name] for p in self.split(split)] if labels is not None else None
        if not arrays:
            raise SeqkitError(f"{self.source or 'the data'} has no pieces in split {split!r}")
        random_windows = (split == "train") if random_windows is None else random_windows
        transform = augmenter(self.tokenizer) if augment else None
        return TokenWindows(arrays, seq_len, augment=transform, random=random_windows, seed=seed,
                            pad_id=self.tokenizer.pad_id, conds=conds)

    def streams(self, split: str, seq_len: int, augment: bool = False, seed: int = 0,
                groups: int = 1) -> TokenStreams:
        """Contiguous training streams (core's ``TokenStreams``) for models that carry memories."""
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
