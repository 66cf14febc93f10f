"""The front doors on ONNX Runtime and on torch, side by side with `python -c "import torch"`.

    python benchmarks/frontdoor_backends.py [--runs 5] [--stdin-runs 3] [--count 10000]

1. Wall time of fresh processes (Python start included), the commands interleaved round by round
   so that a busy machine slows them alike; median and best of --runs, and the ratio of each median
   to that of `python -c "import torch"` (the goal: <= 0.3 for both front doors on ONNX Runtime).
2. `seqkit num2words -` over --count numbers on stdin (log-uniform digit counts below 10^15),
   ONNX Runtime and torch in the same run (median of --stdin-runs).
3. Per-call latency in one process: the names transformer's step with its cache (one token for a
   batch of 1 and of 22 rows, the front door's batch), and the numerals gru's decoder step.

SEQKIT_BACKEND=torch is how the torch rows force torch; everything else is the default.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time


def timed(cmd, env=None, stdin=None) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env={**os.environ, **(env or {})})
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.strip()[-500:]}")
    return dt


def front_doors(seqkit: str, runs: int) -> None:
    torch_env = {"SEQKIT_BACKEND": "torch"}
    cases = [
        ("python -c 'import torch'", [sys.executable, "-c", "import torch"], None),
        ("python -c 'import onnxruntime'", [sys.executable, "-c", "import onnxruntime"], None),
        ("seqkit names --country Greek", [seqkit, "names", "--country", "Greek"], None),
        ("seqkit num2words 101001001001", [seqkit, "num2words", "101001001001"], None),
        ("  the same on torch: names", [seqkit, "names", "--country", "Greek"], torch_env),
        ("  the same on torch: num2words", [seqkit, "num2words", "101001001001"], torch_env),
    ]
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _, cmd, env in cases:  # warm the file cache once
        timed(cmd, env)
    for _ in range(runs):
        for name, cmd, env in cases:
            times[name].append(timed(cmd, env))
    base = statistics.median(times[cases[0][0]])
    print(f"{'command (fresh process)':<36} {'median s':>9} {'best s':>7} {'/ import torch':>15}")
    for name, _, _ in cases:
        med = statistics.median(times[name])
        print(f"{name:<36} {med:>9.3f} {min(times[name]):>7.3f} {med / base:>15.2f}")


def stdin_speed(seqkit: str, count: int, runs: int) -> None:
    rng = random.Random(7)
    numbers = [rng.randrange(10 ** (d - 1) if d > 1 else 0, 10**d) for d in (rng.randint(1, 15) for _ in range(count))]
    text = "\n".join(map(str, numbers)) + "\n"
    rows = {"onnx": [], "torch": []}
    for _ in range(runs):
        for backend in rows:
            rows[backend].append(timed([seqkit, "num2words", "-"], {"SEQKIT_BACKEND": backend}, text))
    print(f"\n`seqkit num2words -` over {count:,} numbers on stdin (gru, median of {runs})")
    print(f"{'backend':<10} {'median s':>9} {'numbers/s':>10}")
    for backend, ts in rows.items():
        med = statistics.median(ts)
        print(f"{backend:<10} {med:>9.2f} {count / med:>10.0f}")


def per_call(reps: int = 300) -> None:
    import numpy as np
    import torch

    from seqkit import find_checkpoint, load_checkpoint, load_for_inference

    torch.set_num_threads(1)
    print(f"\n{'one call with the cache':<44} {'torch ms':>9} {'onnx ms':>8}")
    path = find_checkpoint("transformer", "names")
    tmodel, omodel = load_checkpoint(path).model, load_for_inference(path).model
    for batch in (1, 22):
        prompt = np.ones((batch, 4), dtype=np.int64)
        cond = np.zeros(batch, dtype=np.int64)
        nxt = np.ones((batch, 1), dtype=np.int64)
        _, state = omodel(prompt, cond=cond)
        t0 = time.perf_counter()
        for _ in range(reps):
            omodel(nxt, cond=cond, cache=state)
        o_ms = (time.perf_counter() - t0) / reps * 1e3
        with torch.no_grad():
            t_total = 0.0
            for _ in range(reps):
                cache = tmodel.new_cache()
                tmodel(torch.as_tensor(prompt), cond=torch.as_tensor(cond), cache=cache)
                t0 = time.perf_counter()
                tmodel(torch.as_tensor(nxt), cond=torch.as_tensor(cond), cache=cache)
                t_total += time.perf_counter() - t0
        print(f"{f'names transformer, batch {batch}':<44} {t_total / reps * 1e3:>9.3f} {o_ms:>8.3f}")
    path = find_checkpoint("gru", "numerals")
    tmodel, omodel = load_checkpoint(path).model, load_for_inference(path).model
    src = np.ones((512, 12), dtype=np.int64)
    memory, state = omodel.start(src)
    tok = np.ones((512, 1), dtype=np.int64)
    t0 = time.perf_counter()
    for _ in range(reps // 10):
        omodel.step(tok, memory, state)
    o_ms = (time.perf_counter() - t0) / (reps // 10) * 1e3
    with torch.no_grad():
        tstate = tmodel.start(torch.as_tensor(src))
        t0 = time.perf_counter()
        for _ in range(reps // 10):
            tmodel.step(torch.as_tensor(tok), tstate)
        t_ms = (time.perf_counter() - t0) / (reps // 10) * 1e3
    print(f"{'numerals gru decoder step, batch 512':<44} {t_ms:>9.3f} {o_ms:>8.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--stdin-runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=10_000)
    args = ap.parse_args()
    seqkit = shutil.which("seqkit") or sys.exit("seqkit is not on PATH")
    front_doors(seqkit, args.runs)
    stdin_speed(seqkit, args.count, args.stdin_runs)
    per_call()


if __name__ == "__main__":
    main()
