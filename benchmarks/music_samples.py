"""Samples of a music model to score against real music (``seqkit music score``, docs/music.md).

    python benchmarks/music_samples.py --data ../shared/data/maestro-v2.0.0 --pieces 20 --seconds 30 \
        --out samples/shipped

The primers are the first ``--primer-tokens`` performance tokens (after ``<bos>``) of the first
``--pieces`` MAESTRO test performances (the split file's order), so that every row of one batch has
a primer of the same length. Each row samples (temperature 1, no top-k/top-p, one seed for the
batch) until its new music reaches ``--seconds``; the new tokens up to that time are written as
``sample_NN.mid`` (the continuation only, from time 0; notes still sounding end at the cut).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import torch
from seqkit_midi_transformer.loading import load_music_model
from seqkit_midi_transformer.midi import write_midi
from seqkit_midi_transformer.tokenizer import STEPS_PER_SECOND, TIME_SHIFT, VELOCITY

from seqkit import generate


def test_files(data: Path, n: int, skip: int = 0) -> list[Path]:
    (split_csv,) = sorted(data.glob("maestro-v*.csv"))
    with open(split_csv, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"]
    return [data / r["midi_filename"] for r in rows[skip:skip + n]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--pieces", type=int, default=20)
    ap.add_argument("--skip", type=int, default=0, help="start after this many test pieces (a second batch)")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--primer-tokens", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ckpt = load_music_model(args.model, "cpu")
    tok, net = ckpt.tokenizer, ckpt.model
    files = test_files(args.data, args.pieces, args.skip)
    prompts = [[tok.bos_id] + tok.encode(f)[: args.primer_tokens] for f in files]
    x = torch.tensor(prompts, dtype=torch.long)
    limit = int(round(args.seconds * STEPS_PER_SECOND))

    def reached(new):
        steps = torch.where((new >= TIME_SHIFT) & (new < VELOCITY), new - TIME_SHIFT + 1, 0).sum(1)
        return steps >= limit

    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    done = [0]

    def step(k=1):
        done[0] += k
        if done[0] % 200 == 0:
            print(f"{done[0]} tokens, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)

    new = generate(net, x, int(args.seconds * 120), stop_ids=(tok.eos_id,), suppress_ids=(tok.pad_id, tok.bos_id),
                   generator=gen, stop_fn=reached, on_step=step).tolist()
    took = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (f, row) in enumerate(zip(files, new)):
        if tok.eos_id in row:
            row = row[: row.index(tok.eos_id)]
        row = [t for t, s in zip(row, tok.token_seconds(row)) if s <= args.seconds]
        out = args.out / f"sample_{args.skip + i + 1:02d}.mid"
        write_midi(tok.decode_midi(row), out)
        rows.append({"file": out.name, "primer": f.name, "tokens": len(row),
                     "notes": int(len(tok.decode_notes(row)))})
    print(json.dumps({"model": str(ckpt.path), "pieces": len(rows), "seconds_taken": round(took, 1),
                      "new_tokens": sum(r["tokens"] for r in rows), "samples": rows}, indent=1))


if __name__ == "__main__":
    main()
