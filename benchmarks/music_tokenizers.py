"""Tokenizers compared on one small training budget: for each, `seqkit music train` on the first
N files of each MAESTRO v2 split, `music eval` on the validation files (NLL per token and per
second of music), `music generate` from nothing and `music inspect` of the result.

NLL per second of music (nats/token x tokens per second of the split's music) is the fair measure
across tokenizers: a tokenizer that spends more tokens per second pays for it.

    OMP_NUM_THREADS=1 python benchmarks/music_tokenizers.py [--tokenizers performance remi tsd]
        [--limit 12] [--steps 300] [--out runs/tokenizers]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "maestro-v2.0.0"
MODEL = ["--preset", "small", "--set", "n_layer=2", "--set", "n_embd=128", "--set", "n_head=4",
         "--set", "d_ff=512", "--seq-len", "256", "--batch-size", "8", "--lr", "1e-3", "--set", "warmup_steps=30",
         "--no-augment"]  # the miditok tokenizers have no augmentation: none for any, to compare alike


def seqkit(*args: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "seqkit", *args, "--json"], capture_output=True, text=True,
                       env={**os.environ, "SEQKIT_PROGRESS": "0"})
    if r.returncode:
        sys.exit(f"seqkit {' '.join(args)} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--tokenizers", nargs="+", default=["performance", "remi", "tsd"])
    ap.add_argument("--limit", type=int, default=12, help="files of each split")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "tokenizers")
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} is not a folder (MAESTRO v2 lives in ../shared/data/maestro-v2.0.0)")
    rows = []
    for name in args.tokenizers:
        run = args.out / name
        t0 = time.perf_counter()
        trained = seqkit("music", "train", "--data", str(args.data), "--tokenizer", name, "--limit", str(args.limit),
                         *MODEL, "--steps", str(args.steps), "--set", f"eval_every={args.steps}", "--seed", "0",
                         "--out", str(run), "--save", str(run / "export.json"), "--device", "cpu")
        train_s = time.perf_counter() - t0
        ev = seqkit("music", "eval", "--model", str(run / "best.json"), "--data", str(args.data),
                    "--limit", str(args.limit), "--device", "cpu")
        gen = seqkit("music", "generate", "--model", str(run / "best.json"), "--tokens", "512", "--seed", "1",
                     "--out", str(run / "generated.mid"), "--device", "cpu")
        seen = seqkit("music", "inspect", str(run / "generated.mid"))
        rows.append((name, trained, train_s, ev, gen, seen))
        print(f"{name}: val NLL {ev['nll']} nats/token, {ev['nll_per_second']} nats/s, "
              f"{ev['tokens_per_second']} tokens/s of music; generated {seen['notes']} notes, {seen['seconds']} s",
              flush=True)
    print(f"\nMAESTRO v2, first {args.limit} files of each split; 2 x 128 model, {args.steps} steps of 8 x 256 tokens")
    print("| tokenizer | vocab | train tokens | tokens per second of music | val NLL/token | val NLL per second of music "
          "| train time | 512 generated tokens |")
    print("|---|---|---|---|---|---|---|---|")
    for name, _trained, train_s, ev, _gen, seen in rows:
        meta = json.loads((args.out / name / "best.json").read_text())
        vocab = meta["config"]["vocab_size"]
        print(f"| {name} | {vocab} | {meta['data']['train_tokens']:,} | {ev['tokens_per_second']:.1f} | {ev['nll']:.3f} "
              f"| **{ev['nll_per_second']:.2f}** | {train_s:.0f} s | {seen['notes']} notes, {seen['seconds']} s |")


if __name__ == "__main__":
    main()
