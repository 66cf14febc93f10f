"""`seqkit music tokenize` over MAESTRO v2 with an empty cache (symusic) vs the old pretty_midi
reader on the same files, in the same run, with the same number of processes.

Goal (issue 16): the whole of MAESTRO v2 in at most 30 s of wall time on 2 cores, at least 15x
the old reader. The old side (one process per core, no cache) parses each file with pretty_midi and encodes it
twice: with today's vectorised encoder (the reader alone compared), and with the event-loop
encoder `music tokenize` ran before (the whole old path). CPU seconds (user + system of all the
processes) are printed besides wall time: on a machine shared with other work, wall time measures
the load as much as the code.

    OMP_NUM_THREADS=1 python benchmarks/music_tokenize_speed.py [--data ../shared/data/maestro-v2.0.0]
        [--workers 2] [--old-files N]    # N > 0: time the old reader on every k-th file and scale up
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "maestro-v2.0.0"


def encode_event_loop(q) -> list[int]:
    """The performance encoder before issue 16 (one Python step per event), for the old side."""
    from seqkit_midi_transformer.tokenizer import NOTE_OFF, NOTE_ON, TIME_SHIFT, VELOCITY

    events = sorted([(e, 0, p, v) for _, e, p, v in q.tolist()] + [(s, 1, p, v) for s, _, p, v in q.tolist()])
    out, now, velocity = [], 0, -1
    for t, kind, p, v in events:
        while t > now:
            k = min(t - now, 100)
            out.append(TIME_SHIFT + k - 1)
            now += k
        if kind:
            if v != velocity:
                out.append(VELOCITY + v)
                velocity = v
            out.append(NOTE_ON + p)
        else:
            out.append(NOTE_OFF + p)
    return out


def old_tokenize(job: tuple[str, bool]) -> int:
    """Tokens of one file through the pretty_midi reader; ``loop``: with the event-loop encoder
    too (all of what `music tokenize` did before symusic)."""
    from seqkit_midi_transformer.midi_read import load_pretty_midi
    from seqkit_midi_transformer.tokenizer import PerformanceTokenizer, midi_notes, quantize_notes

    path, loop = job
    if loop:
        return len(encode_event_loop(quantize_notes(midi_notes(load_pretty_midi(path))))) + 2
    return len(PerformanceTokenizer().encode(load_pretty_midi(path), add_bos=True, add_eos=True))


def new_tokenize(path: str) -> int:
    """Tokens of one file through the symusic reader, in the same harness as ``old_tokenize``
    (no CLI start, no cache, no archive): the readers compared like for like."""
    from seqkit_midi_transformer.midi_read import load_midi
    from seqkit_midi_transformer.tokenizer import PerformanceTokenizer

    return len(PerformanceTokenizer().encode(load_midi(path), add_bos=True, add_eos=True))


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far (and theirs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


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
        t0, c0 = time.perf_counter(), children_cpu()
        r = subprocess.run([sys.executable, "-m", "seqkit", "music", "tokenize", "--data", str(args.data),
                            "--out", str(Path(tmp) / "t.npz"), "--json"], env=env, capture_output=True, text=True)
        new_s, new_cpu = time.perf_counter() - t0, children_cpu() - c0
        if r.returncode:
            sys.exit(r.stderr or r.stdout)
        splits = json.loads(r.stdout)["splits"]
    new_tokens = sum(v["tokens"] for v in splits.values())
    pieces = sum(v["pieces"] for v in splits.values())
    step = max(1, len(files) // args.old_files) if args.old_files else 1
    sample = files[::step]
    scale = len(files) / len(sample)
    t0, c0 = time.perf_counter(), children_cpu()
    with ProcessPoolExecutor(args.workers) as pool:
        same_tokens = sum(pool.map(new_tokenize, sample, chunksize=1))
    same = (same_tokens, (time.perf_counter() - t0) * scale, (children_cpu() - c0) * scale)
    old = {}
    for loop in (False, True):
        t0, c0 = time.perf_counter(), children_cpu()
        with ProcessPoolExecutor(args.workers) as pool:
            tokens = sum(pool.map(old_tokenize, [(f, loop) for f in sample], chunksize=1))
        old[loop] = (tokens, (time.perf_counter() - t0) * scale, (children_cpu() - c0) * scale)
    load = os.getloadavg()
    print(f"MAESTRO v2: {len(files)} files, {args.workers} processes, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(f"{'reader':<38} {'files':>6} {'tokens':>12} {'wall s':>8} {'CPU s':>8}")
    print(f"{'symusic (music tokenize, empty cache)':<38} {pieces:>6} {new_tokens:>12,} {new_s:>8.1f} {new_cpu:>8.1f}")
    print(f"{'symusic reader, same harness as below':<38} {len(sample):>6} {same[0]:>12,} {same[1]:>8.1f} {same[2]:>8.1f}")
    scaled = f" (every {step}th file, x{scale:.1f})" if step > 1 else ""
    for loop, what in ((False, "pretty_midi reader, same encoder"), (True, "old tokenize: pretty_midi + event loop")):
        tokens, old_s, old_cpu = old[loop]
        print(f"{what:<38} {len(sample):>6} {tokens:>12,} {old_s:>8.1f} {old_cpu:>8.1f}"
              f"   ratio {old_s / new_s:.1f}x wall, {old_cpu / new_cpu:.1f}x CPU;"
              f" like for like {old_s / same[1]:.1f}x wall, {old_cpu / same[2]:.1f}x CPU")
    print(f"goals: >= 15x the old reader, <= 30 s wall for symusic (here {new_s:.1f} s){scaled}")


if __name__ == "__main__":
    main()
