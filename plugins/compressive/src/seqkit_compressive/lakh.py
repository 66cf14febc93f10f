"""The Lakh MIDI ``clean_midi`` collection: ``clean_midi/<Artist>/<Title>.mid``.

``load_lakh(path, program=25, genres="genres.csv", genre="rock", per_genre=50, seed=0)``
(registered as the dataset ``lakh-clean-midi``) lists the songs, keeps those with a non-drum
instrument playing General MIDI ``program`` (0-based: 24 nylon, 25 steel-string acoustic guitar),
attaches genres from a CSV, keeps only the given genres, and samples ``per_genre`` songs of each
genre (seeded). Files that cannot be parsed are skipped and counted (``collection.skipped``).

The genre CSV has a header and two columns: the key (``artist``, or ``path``/``file`` relative to
``clean_midi`` such as ``ABBA/Waterloo.mid``) and ``genre``. Path keys win over artist keys;
artist matching ignores case.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from seqkit import SeqkitError

MIDI_SUFFIXES = (".mid", ".midi")


@dataclass
class Song:
    path: Path
    artist: str
    title: str
    genre: str | None = None
    programs: tuple[int, ...] = ()  # non-drum General MIDI programs, 0-based

    @property
    def key(self) -> str:
        return f"{self.artist}/{self.path.name}"


@dataclass
class LakhCollection:
    root: Path
    songs: list[Song] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # unreadable files and why
    n_files: int = 0  # MIDI files found before filtering

    @property
    def paths(self) -> list[Path]:
        return [s.path for s in self.songs]

    def by_genre(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.songs:
            counts[s.genre or "-"] = counts.get(s.genre or "-", 0) + 1
        return dict(sorted(counts.items()))

    def summary(self) -> dict:
        return {"root": str(self.root), "files": self.n_files, "songs": len(self.songs),
                "skipped": len(self.skipped), "genres": self.by_genre()}

    def steps(self, tokenizer) -> list[list[tuple[int, ...]]]:
        """Each song as onset steps (``tokenizer.steps``), e.g. for the notes-chords tokenizer."""
        return [tokenizer.steps(s.path) for s in self.songs]


def find_root(path) -> Path:
    """``path`` itself or its ``clean_midi`` subfolder."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise SeqkitError(f"{path} is not a folder (expected Lakh's clean_midi/<Artist>/<Title>.mid)")
    if (path / "clean_midi").is_dir():
        path = path / "clean_midi"
    return path


def list_songs(root: Path) -> list[Song]:
    songs = []
    for artist in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(artist.iterdir()):
            if f.is_file() and f.suffix.lower() in MIDI_SUFFIXES:
                songs.append(Song(f, artist.name, f.stem))
    return songs


def read_genres(csv_path) -> tuple[dict[str, str], dict[str, str]]:
    """(by path key, by lower-case artist) from a two-column CSV with a header."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise SeqkitError(f"genre file {csv_path} not found")
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SeqkitError(f"genre file {csv_path} is not UTF-8 text (a CSV with a header is expected)") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(rows, [])]
    if "genre" not in header or not {"artist", "path", "file"} & set(header):
        raise SeqkitError(f"{csv_path}: the header must name a 'genre' column and an 'artist', "
                          f"'path' or 'file' column, not {header}")
    g = header.index("genre")
    key_col = next(h for h in ("path", "file", "artist") if h in header)
    k = header.index(key_col)
    by_path, by_artist = {}, {}
    for row in rows:
        if len(row) <= max(g, k) or not row[k].strip() or not row[g].strip():
            continue
        key, genre = row[k].strip(), row[g].strip()
        if key_col == "artist":
            by_artist[key.lower()] = genre
        else:
            by_path[key.replace("\\", "/").removeprefix("clean_midi/")] = genre
    return by_path, by_artist


def read_programs(path: Path) -> tuple[int, ...]:
    """Non-drum programs (with notes) of a MIDI file; raises on an unreadable one. Remembered per
    (path, size, mtime) for the life of the process."""
    st = path.stat()
    result = _read_programs(str(path), st.st_size, st.st_mtime_ns)
    if isinstance(result, Exception):
        raise result
    return result


@lru_cache(maxsize=65536)
def _read_programs(path: str, size: int, mtime: int):
    from symusic import Score  # the C++ parser: thousands of files a second

    try:
        score = Score(path)
    except Exception as exc:  # noqa: BLE001 - any parser failure means unreadable
        return exc
    return tuple(sorted({int(t.program) for t in score.tracks if not t.is_drum and len(t.notes)}))


def load_lakh(path, program: int | None = None, genres=None, genre=None, per_genre: int | None = None,
              seed: int = 0) -> LakhCollection:
    """Songs of a ``clean_midi`` folder after the filters (see the module docstring)."""
    if program is not None and not 0 <= int(program) <= 127:
        raise SeqkitError(f"program must be a General MIDI program 0..127, not {program}")
    if per_genre is not None and int(per_genre) < 1:
        raise SeqkitError("per_genre must be at least 1")
    if (genre or per_genre) and genres is None:
        raise SeqkitError("genre filters need a genre CSV (genres=...)")
    root = find_root(path)
    songs = list_songs(root)
    out = LakhCollection(root, n_files=len(songs))
    if not songs:
        raise SeqkitError(f"no MIDI files under {root} (expected <Artist>/<Title>.mid)")
    if genres is not None:
        by_path, by_artist = read_genres(genres)
        for s in songs:
            s.genre = by_path.get(s.key) or by_artist.get(s.artist.lower())
        wanted = None
        if genre:
            wanted = {g.strip().lower() for g in ([genre] if isinstance(genre, str) else genre)
                      for g in g.split(",") if g.strip()}
        songs = [s for s in songs if s.genre and (wanted is None or s.genre.lower() in wanted)]
    groups: dict[str | None, list[Song]] = {}
    for s in songs:
        groups.setdefault(s.genre if per_genre else None, []).append(s)
    rng = random.Random(seed)
    for name in sorted(groups, key=lambda g: g or ""):
        group = groups[name]
        if per_genre:
            rng.shuffle(group)  # read in a seeded order until per_genre songs pass
        kept = []
        for s in group:
            if per_genre and len(kept) == per_genre:
                break
            try:
                s.programs = read_programs(s.path)
            except Exception as exc:  # noqa: BLE001 - any parser failure means unreadable
                out.skipped.append((s.path, f"{type(exc).__name__}: {exc}"[:200]))
                continue
            if program is None or int(program) in s.programs:
                kept.append(s)
        out.songs.extend(sorted(kept, key=lambda s: s.key))
    return out
