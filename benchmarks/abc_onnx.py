"""`seqkit abc generate` on ONNX Runtime: wall time against `python -c "import torch"`, the
threads each default picks, side by side with the other choice, and what dynamic int8 would cost.

    python benchmarks/abc_onnx.py [--runs 5] [--tunes 153] [--skip-int8] [--quick]

1. Fresh processes, interleaved round by round so a busy machine slows them alike (median, best,
   ratio to `import torch`): `seqkit abc generate` (3 tunes, --seed 1) at its default (1 thread on
   ONNX Runtime), with --threads 2, on torch (SEQKIT_BACKEND=torch, default threads and
   --threads 1). The goal: the default at most 0.5x `import torch`.
2. Threads, in one process: ms per decoding step of the shipped 1x512 LSTM's step graph at
   batch 1 and 3 (what `pick_threads` gives one thread) and batch 64 and 512 (batched work: every
   core), on 1 and on 2 intra-op threads, the sessions interleaved; the load average with it.
3. NLL (nats/char) on ../shared/data/abc-pa3/val.txt (whole tunes, fresh state per tune, as
   `abc eval` reads them) through the shipped dynamic int8 graph and an fp32 export of the same
   weights (made in a temporary folder): int8 is shipped only if it costs <= 0.01 nats/char. The
   graphs' sizes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CKPT = ROOT / "plugins/abc/src/seqkit_abc/checkpoints/lstm.json"


def timed(cmd, env=None) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.strip()[-500:]}")
    return time.perf_counter() - t0


def front_door(runs: int, quick: bool = False) -> None:
    seqkit = [sys.executable, "-m", "seqkit"]
    gen = seqkit + ["abc", "generate", "--seed", "1"]
    torch_env = {"SEQKIT_BACKEND": "torch"}
    cases = [
        ("python -c 'import torch'", [sys.executable, "-c", "import torch"], None),
        ("seqkit abc generate (default: ONNX, 1 thread)", gen, None),
        ("  ONNX Runtime, --threads 2", gen + ["--threads", "2"], None),
        ("  torch, --threads 1 (its default now)", gen, torch_env),
        ("  torch, --threads 2", gen + ["--threads", "2"], torch_env),
    ]
    if quick:  # torch on two threads: 1-2 minutes a run on a loaded machine
        cases = cases[:-1]
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _, cmd, env in cases:
        timed(cmd, env)
    for _ in range(runs):
        for name, cmd, env in cases:
            times[name].append(timed(cmd, env))
    base = statistics.median(times[cases[0][0]])
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| command (fresh process, 3 tunes) | median s | best s | / import torch |\n|---|---:|---:|---:|")
    for name, _, _ in cases:
        med = statistics.median(times[name])
        print(f"| {name} | {med:.2f} | {min(times[name]):.2f} | {med / base:.2f} |")


def step_graph() -> Path:
    from seqkit.generation.inference import onnx_files
    from seqkit.io.checkpoints import read_meta

    return onnx_files(CKPT, read_meta(CKPT))["step"]


def threads(reps: int = 5) -> None:
    import numpy as np

    from seqkit.generation.inference import make_session, pick_threads

    graph = step_graph()
    sessions = {n: make_session(graph, n) for n in (1, 2)}
    print("\n| batch | pick_threads | 1 thread ms/step | 2 threads ms/step | load |\n|---:|---:|---:|---:|---:|")
    for B in (1, 3, 64, 512):
        feeds = {"idx": np.zeros((B, 1), np.int64), "state_0": np.zeros((1, B, 512), np.float32),
                 "state_1": np.zeros((1, B, 512), np.float32)}
        got: dict[int, list[float]] = {1: [], 2: []}
        steps = max(10, 1000 // B)
        for _ in range(reps):
            for n, s in sessions.items():
                t0 = time.perf_counter()
                for _ in range(steps):
                    s.run(None, feeds)
                got[n].append((time.perf_counter() - t0) / steps * 1e3)
        print(f"| {B} | {pick_threads(0, B, 1239713)} | {statistics.median(got[1]):.2f} | "
              f"{statistics.median(got[2]):.2f} | {os.getloadavg()[0]:.1f} |")


def nll(graph, tunes, tok) -> float:
    import numpy as np
    from seqkit_abc.data import wrap

    from seqkit.generation.inference import make_session

    sess = make_session(graph)
    total = n = 0.0
    for t in tunes:
        ids = np.array([tok.encode(wrap(t))], dtype=np.int64)
        feeds = {"idx": ids[:, :-1], "state_0": np.zeros((1, 1, 512), np.float32),
                 "state_1": np.zeros((1, 1, 512), np.float32)}
        logits = sess.run(["logits"], feeds)[0][0].astype(np.float64)
        logz = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
        total += float((logz - logits[np.arange(len(logits)), ids[0, 1:]]).sum())
        n += len(logits)
    return total / n


def int8(limit: int) -> None:
    """The shipped int8 graph against an fp32 export of the same weights (made in a temp folder)."""
    import shutil

    from seqkit_abc.data import load_tunes, shared_data

    from seqkit.io.checkpoints import checkpoint_tokenizer, read_meta
    from seqkit.onnx import export_onnx

    meta = read_meta(CKPT)
    tok = checkpoint_tokenizer(meta, CKPT)
    tunes = load_tunes(shared_data() / "abc-pa3" / "val.txt", "auto")[:limit]  # $SEQKIT_SHARED_DATA
    shipped = step_graph()
    with tempfile.TemporaryDirectory() as tmp:
        for name in (CKPT.name, meta["weights"]):
            shutil.copy(CKPT.parent / name, Path(tmp) / name)
        fp32 = export_onnx(Path(tmp) / CKPT.name, int8=False)[0]
        f32, i8 = nll(fp32, tunes, tok), nll(shipped, tunes, tok)
        print(f"\n| graph | bytes | NLL nats/char ({len(tunes)} val tunes) |\n|---|---:|---:|")
        print(f"| fp32 (weights stored float16) | {fp32.stat().st_size:,} | {f32:.5f} |")
        print(f"| dynamic int8, per channel (shipped) | {shipped.stat().st_size:,} | {i8:.5f} ({i8 - f32:+.5f}) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tunes", type=int, default=153)
    ap.add_argument("--skip-int8", action="store_true")
    ap.add_argument("--quick", action="store_true", help="without the torch --threads 2 row")
    args = ap.parse_args()
    front_door(args.runs, args.quick)
    threads()
    if not args.skip_int8:
        int8(args.tunes)


if __name__ == "__main__":
    main()
