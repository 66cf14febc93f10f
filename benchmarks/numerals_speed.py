"""Speed of the numerals models on this machine: the front door (a fresh `seqkit num2words`
process, Python start included) and batched throughput.

    python benchmarks/numerals_speed.py [--models gru transformer] [--runs 5] [--count 2000]

Prints a table: model, parameters, checkpoint size, median/min wall time of
`seqkit num2words 101001001001`, numbers per second when writing --count numbers in batches of 512
(one CPU thread), and the exact-match of those against num2words.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def front_door(model: str, runs: int) -> list[float]:
    exe = shutil.which("seqkit") or str(Path(sys.executable).parent / "seqkit")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run([exe, "num2words", "101001001001", "--model", model],
                           capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise SystemExit(f"seqkit num2words failed: {r.stderr.strip()}")
    return times


def throughput(model: str, count: int) -> tuple[float, float, int, int]:
    import torch
    from seqkit_numerals.evaluation import log_uniform_numbers
    from seqkit_numerals.numbers import reference_words
    from seqkit_numerals.translate import Translator

    from seqkit import find_checkpoint
    from seqkit.io import read_meta

    torch.set_num_threads(1)
    tr = Translator.load(model)
    numbers = log_uniform_numbers(1, tr.spec.max, count, seed=7)
    tr.words(numbers[:64])  # warm up
    t = time.perf_counter()
    words = tr.words(numbers)
    dt = time.perf_counter() - t
    exact = sum(w == reference_words(n, tr.lang) for n, w in zip(numbers, words)) / count
    path = find_checkpoint(model, "numerals")
    meta = read_meta(path)
    size = path.stat().st_size + (path.parent / meta["weights"]).stat().st_size
    return count / dt, exact, meta["parameters"], size


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["gru", "transformer"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--count", type=int, default=2000)
    args = ap.parse_args()
    os.environ.setdefault("SEQKIT_PROGRESS", "0")
    rows = []
    for m in args.models:
        times = front_door(m, args.runs)
        rate, exact, params, size = throughput(m, args.count)
        rows.append((m, f"{params:,}", f"{size / 1e6:.2f} MB", f"{statistics.median(times):.2f} s",
                     f"{min(times):.2f} s", f"{rate:,.0f}", f"{exact:.2%}"))
    head = ("model", "params", "checkpoint", "front door (median)", "(min)", "numbers/s (1 thread)",
            "exact (log-uniform)")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; front door = "
          f"`seqkit num2words 101001001001 --model M`, {args.runs} runs")


if __name__ == "__main__":
    main()
