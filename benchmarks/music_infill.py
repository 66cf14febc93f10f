"""How many infilling candidates buy how much (docs/music.md, "Infilling").

    python benchmarks/music_infill.py --data ../shared/data/maestro-v2.0.0 --pieces 6 --from 12 --to 20 \
        --candidates 16

For each of the first ``--pieces`` MAESTRO test performances, ``music infill``'s steps (infill.py)
with the shipped model: ``--candidates`` gaps sampled in one batch (seed 1 + piece index), each
scored by the NLL of the real music's first ``--lookahead`` seconds after the gap (with the real
gap among them, scored alike). "best of the
first N" is what ``music infill --candidates N`` keeps (the candidates are drawn in the same batch,
so the first N of 16 stand for a run with N); N = 1 is a plain continuation (no look-ahead). The
real gap's NLL is the yardstick. Times are this machine's CPU, one thread.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch
from seqkit_midi_transformer.infill import (
    _real_gap,
    _room,
    close_gap,
    context_tokens,
    sample_gaps,
    score_candidates,
    split_piece,
)
from seqkit_midi_transformer.loading import load_music_model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--pieces", type=int, default=6)
    ap.add_argument("--skip", type=int, default=0, help="start after this many test pieces (seeds follow the index)")
    ap.add_argument("--from", dest="start", type=float, default=12.0)
    ap.add_argument("--to", dest="end", type=float, default=20.0)
    ap.add_argument("--candidates", type=int, default=16)
    ap.add_argument("--lookahead", type=float, default=4.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ckpt = load_music_model(None, "cpu")
    tok, net = ckpt.tokenizer, ckpt.model
    (split_csv,) = sorted(args.data.glob("maestro-v*.csv"))
    with open(split_csv, newline="") as f:
        files = [args.data / r["midi_filename"] for r in csv.DictReader(f) if r["split"] == "test"]
    steps = int(round((args.end - args.start) * 100))
    rows = []
    for i, path in list(enumerate(files))[args.skip: args.skip + args.pieces]:
        notes = tok.notes(path)
        context, follows = split_piece(notes, args.start, args.end)
        prompt = context_tokens(tok, context, args.start)
        after = tok.encode_notes(follows - np.array([args.end, args.end, 0, 0]))
        after = [t for t, s in zip(after, tok.token_seconds(after)) if s <= args.lookahead]
        gen = torch.Generator().manual_seed(1 + i)
        t0 = time.perf_counter()
        gaps = sample_gaps(net, tok, prompt[-_room(net, steps):], args.candidates, steps, dict(temperature=1.0, top_k=0, top_p=1.0),
                           gen, None)
        t1 = time.perf_counter()
        real_gap = close_gap(tok.encode_notes(_real_gap(notes, args.start, args.end)), steps, tok.eos_id)
        nlls = score_candidates(net, prompt, gaps + [real_gap], after)
        nlls, real = nlls[:-1], nlls[-1]
        t2 = time.perf_counter()
        best = {n: min(nlls[:n]) for n in (1, 2, 4, 8, 16, 32) if n <= args.candidates}
        rows.append({"index": i, "piece": path.name, "prompt_tokens": len(prompt), "lookahead_tokens": len(after),
                     "gap_tokens": [len(g) for g in gaps], "nll": nlls, "best_of_first": best, "real_gap": real,
                     "sampling_s": round(t1 - t0, 1), "scoring_s": round(t2 - t1, 1)})
        print(json.dumps({k: v for k, v in rows[-1].items() if k not in ("nll", "gap_tokens")}), flush=True)
    ns = list(rows[0]["best_of_first"])
    summary = {f"best_of_{n}": round(float(np.mean([r["best_of_first"][n] for r in rows])), 4) for n in ns}
    summary["real_gap"] = round(float(np.mean([r["real_gap"] for r in rows])), 4)
    summary["mean_candidate"] = round(float(np.mean([np.mean(r["nll"]) for r in rows])), 4)
    summary["sampling_s_per_piece"] = round(float(np.mean([r["sampling_s"] for r in rows])), 1)
    summary["scoring_s_per_piece"] = round(float(np.mean([r["scoring_s"] for r in rows])), 1)
    print(json.dumps({"pieces": len(rows), "gap": [args.start, args.end], "candidates": args.candidates,
                      "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
