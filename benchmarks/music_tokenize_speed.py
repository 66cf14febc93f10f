"""`seqkit music tokenize` over MAESTRO v2 with an empty cache (symusic) vs the old pretty_midi
reader on the same files, in the same run, with the same number of processes.

Goal (issue 16): the whole of MAESTRO v2 in at most 30 s of wall time on 2 cores, at least 15x
the old reader. The old reader's side parses each file with pretty_midi and encodes it exactly as
`music tokenize` did before symusic (one process per core, no cache).

    OMP_NUM_THREADS=1 python benchmarks/music_tokenize_speed.py [--data ../shared/data/maestro-v2.0.0]
        [--workers 2] [--old-files N]    # N > 0: time the old reader on every k-th file and scale up
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "maestro-v2.0.0"


def old_tokenize(path: str) -> int:
    """Tokens of one file through the pretty_midi reader (what tokenizing did before symusic)."""
    from seqkit_midi_transformer.midi_read import load_pretty_midi
    from seqkit_midi_transformer.tokenizer import PerformanceTokenizer

    return len(PerformanceTokenizer().encode(load_pretty_midi(path), add_bos=True, add_eos=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--old-files", type=int, default=0, help="time the old reader on this many files only (0 = all)")
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} is not a folder (MAESTRO v2 lives in ../shared/data/maestro-v2.0.0)")
    files = sorted(str(p) for p in args.data.rglob("*.midi"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SEQKIT_CACHE_DIR": str(Path(tmp) / "cache"), "SEQKIT_PROGRESS": "0",
               "SEQKIT_WORKERS": str(args.workers)}
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "seqkit", "music", "tokenize", "--data", str(args.data),
                            "--out", str(Path(tmp) / "t.npz"), "--json"], env=env, capture_output=True, text=True)
        new_s = time.perf_counter() - t0
        if r.returncode:
            sys.exit(r.stderr or r.stdout)
        splits = json.loads(r.stdout)["splits"]
    new_tokens = sum(v["tokens"] for v in splits.values())
    pieces = sum(v["pieces"] for v in splits.values())
    step = max(1, len(files) // args.old_files) if args.old_files else 1
    sample = files[::step]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        old_tokens = sum(pool.map(old_tokenize, sample, chunksize=1))
    old_s = (time.perf_counter() - t0) * len(files) / len(sample)
    load = os.getloadavg()
    print(f"MAESTRO v2: {len(files)} files, {args.workers} processes, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(f"{'reader':<34} {'files':>6} {'tokens':>12} {'wall s':>8}")
    print(f"{'symusic (music tokenize, empty cache)':<34} {pieces:>6} {new_tokens:>12,} {new_s:>8.1f}")
    what = "pretty_midi (old)" + (f", {len(sample)} files scaled" if step > 1 else "")
    print(f"{what:<34} {len(sample):>6} {old_tokens:>12,} {old_s:>8.1f}")
    print(f"ratio: {old_s / new_s:.1f}x (goal >= 15x); symusic wall {new_s:.1f} s (goal <= 30 s)")


if __name__ == "__main__":
    main()
