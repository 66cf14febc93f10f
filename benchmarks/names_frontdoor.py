"""Wall time of `seqkit names --country Greek` (Python start included) and sampling speed.

    python benchmarks/names_frontdoor.py [--runs 5]

Prints, per shipped model, the median and best wall time of the whole command over --runs fresh
processes, then the in-process sampling rate (names per second, batch of 1,800 = 100 per country).
A `python -c "import torch"` row shows how much of the front door is just importing torch.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def wall(cmd: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    seqkit = shutil.which("seqkit") or sys.exit("seqkit is not on PATH")
    rows = [("python -c 'import torch'", *wall([sys.executable, "-c", "import torch"], args.runs))]
    for model in ("gru", "lstm", "rnn", "transformer"):
        cmd = [seqkit, "names", "--country", "Greek", "--model", model]
        rows.append((" ".join(["seqkit"] + cmd[1:]), *wall(cmd, args.runs)))
    print(f"{'command':<58} {'median s':>9} {'best s':>8}")
    for name, med, best in rows:
        print(f"{name:<58} {med:>9.2f} {best:>8.2f}")

    import torch
    from seqkit_names.generator import load_generator, make_rng, sample

    torch.set_num_threads(1)
    print(f"\n{'model':<12} {'names/s':>9}  (1,800 names: 100 per country, T=1, 1 thread)")
    for model in ("gru", "lstm", "rnn", "transformer"):
        gen = load_generator(model)
        conds = [c for c in range(len(gen.countries)) for _ in range(100)]
        t0 = time.perf_counter()
        sample(gen, conds, [""] * len(conds), 1.0, 20, make_rng(0, gen.backend))
        print(f"{model:<12} {len(conds) / (time.perf_counter() - t0):>9.0f}")


if __name__ == "__main__":
    main()
