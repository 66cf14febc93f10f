"""Performance tokens through symusic (what the music commands use) vs the old pretty_midi reader,
on every MIDI file of the given folders (default: MAESTRO v2, Groove, Nottingham and the fixtures
in ../shared/data): prints how many files give identical token sequences, and each difference with
the first differing token. The CI test (plugins/midi-transformer/tests/test_parser_identity.py)
runs the same comparison on a sample; this runs all of it (the pretty_midi side is slow: about
8 minutes for MAESTRO on one core).

    OMP_NUM_THREADS=1 python benchmarks/music_parser_identity.py [FOLDER ...] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
FOLDERS = ["maestro-v2.0.0", "groove-midi-v1.0.0", "nottingham", "midi-fixtures"]


def compare(path: str) -> tuple[str, str, float, float]:
    """``(path, "same" | "both-unreadable" | a description of the difference, old s, new s)``."""
    from seqkit_midi_transformer.midi_read import load_pretty_midi
    from seqkit_midi_transformer.tokenizer import PerformanceTokenizer

    from seqkit.errors import SeqkitError

    tok = PerformanceTokenizer(drums="groove" in path)  # Groove is drums only
    out = []
    times = []
    for read in (load_pretty_midi, lambda p: p):
        t0 = time.perf_counter()
        try:
            out.append(tok.encode(read(path)))
        except SeqkitError as exc:
            out.append(f"unreadable: {exc}")
        times.append(time.perf_counter() - t0)
    old, new = out
    if isinstance(old, str) and isinstance(new, str):
        verdict = "both-unreadable"  # the messages name each parser's reason
    elif old == new:
        verdict = "same"
    elif isinstance(old, str) or isinstance(new, str):
        verdict = f"old: {old if isinstance(old, str) else len(old)} / new: {new if isinstance(new, str) else len(new)}"
    else:
        first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
        verdict = (f"{len(old)} vs {len(new)} tokens, first difference at token {first} "
                   f"({tok.describe(old[first]) if first < len(old) else '-'} vs "
                   f"{tok.describe(new[first]) if first < len(new) else '-'})")
    return path, verdict, times[0], times[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    folders = args.folders or [DATA / f for f in FOLDERS]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        sys.exit(f"no such folder: {', '.join(missing)} (the data lives in ../shared/data)")
    print(f"{'folder':<22} {'files':>6} {'same':>6} {'differ':>6} {'unread':>6} {'old s':>8} {'new s':>7}")
    diffs = []
    for folder in folders:
        files = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi") and p.is_file())
        with ProcessPoolExecutor(args.workers) as pool:
            rows = list(pool.map(compare, files, chunksize=4))
        same = sum(r[1] == "same" for r in rows)
        unread = sum(r[1] == "both-unreadable" for r in rows)
        bad = [r for r in rows if r[1] not in ("same", "both-unreadable")]
        diffs += bad
        print(f"{folder.name:<22} {len(rows):>6} {same:>6} {len(bad):>6} {unread:>6} "
              f"{sum(r[2] for r in rows):>8.1f} {sum(r[3] for r in rows):>7.1f}", flush=True)
    for path, verdict, _, _ in diffs:
        print(f"DIFF {os.path.relpath(path, DATA if DATA.exists() else REPO)}: {verdict}")
    print(f"{len(diffs)} file(s) differ")


if __name__ == "__main__":
    main()
