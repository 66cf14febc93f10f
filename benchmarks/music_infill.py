"""How many infilling candidates buy how much, and what each backend takes (docs/music.md, "Infilling").

    python benchmarks/music_infill.py --data ../shared/data/maestro-v2.0.0 --pieces 6 --from 12 --to 20 \
        --candidates 16 [--backend torch|onnx|both] [--cli 8]

For each of the first ``--pieces`` MAESTRO test performances, ``music infill``'s steps (infill.py)
with the shipped model: ``--candidates`` gaps sampled in one batch (seed 1 + piece index), each
scored by the NLL of the real music's first ``--lookahead`` seconds after the gap (with the real
gap among them, scored alike). "best of the first N" is what ``music infill --candidates N``
keeps (the candidates are drawn in the same batch, so the first N of 16 stand for a run with N);
N = 1 is a plain continuation (no look-ahead). The real gap's NLL is the yardstick. Times are this
machine's CPU, one thread.

Backends: ``torch`` (fp32 eager, its KV cache), ``onnx`` (ONNX Runtime, the shipped int8 step
graph, ``OnnxMusic``); ``both`` runs them side by side on each piece, and also scores the torch
candidates through the ONNX graph (``onnx_vs_torch``: the largest NLL difference over the
candidates and the real gap, and whether the same candidate is chosen). The two backends draw
different random numbers, so they sample different candidates.

``--cli N``: ``seqkit music infill`` on the first piece with ``--candidates N --seed 1`` as a user
runs it, per backend (``SEQKIT_BACKEND=torch`` and the default): wall and CPU seconds, imports
included.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
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


def run_piece(net, tok, prompt, after, real_gap, steps, candidates, gen) -> dict:
    t0 = time.perf_counter()
    gaps = sample_gaps(net, tok, prompt[-_room(net, steps):], candidates, steps,
                       dict(temperature=1.0, top_k=0, top_p=1.0), gen, None)
    t1 = time.perf_counter()
    nlls = score_candidates(net, prompt, gaps + [real_gap], after)
    t2 = time.perf_counter()
    return {"gaps": gaps, "nll": nlls[:-1], "real_gap": nlls[-1], "sampling_s": round(t1 - t0, 1),
            "scoring_s": round(t2 - t1, 1)}


def cli_infill(piece: Path, start: float, end: float, candidates: int, backend: str) -> dict:
    env = {**os.environ, "SEQKIT_BACKEND": backend, "SEQKIT_PROGRESS": "0"}
    env.pop("OMP_NUM_THREADS", None)
    with tempfile.TemporaryDirectory() as tmp:
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "seqkit", "music", "infill", str(piece), "--from", str(start),
                            "--to", str(end), "--candidates", str(candidates), "--seed", "1", "-o",
                            str(Path(tmp) / "o.mid"), "--json"], capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode:
        raise SystemExit(r.stderr)
    res = json.loads(r.stdout)
    return {"backend": res["backend"], "candidates": candidates, "wall_s": round(wall, 1),
            "cpu_s": round((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime), 1),
            "took_s": res["seconds_taken"], "sampling_s": res["sampling_seconds"],
            "chosen": res["results"][0]["chosen"], "nll_after": res["results"][0]["nll_after"]}


def summarize(rows: list[dict]) -> dict:
    ns = list(rows[0]["best_of_first"])
    out = {f"best_of_{n}": round(float(np.mean([r["best_of_first"][n] for r in rows])), 4) for n in ns}
    out["real_gap"] = round(float(np.mean([r["real_gap"] for r in rows])), 4)
    out["mean_candidate"] = round(float(np.mean([np.mean(r["nll"]) for r in rows])), 4)
    out["sampling_s_per_piece"] = round(float(np.mean([r["sampling_s"] for r in rows])), 1)
    out["scoring_s_per_piece"] = round(float(np.mean([r["scoring_s"] for r in rows])), 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--pieces", type=int, default=6)
    ap.add_argument("--skip", type=int, default=0, help="start after this many test pieces (seeds follow the index)")
    ap.add_argument("--from", dest="start", type=float, default=12.0)
    ap.add_argument("--to", dest="end", type=float, default=20.0)
    ap.add_argument("--candidates", type=int, default=16)
    ap.add_argument("--lookahead", type=float, default=4.0)
    ap.add_argument("--backend", choices=["torch", "onnx", "both"], default="torch")
    ap.add_argument("--cli", type=int, default=0, help="also time `seqkit music infill --candidates N` per backend")
    args = ap.parse_args()
    torch.set_num_threads(1)
    nets = {}
    if args.backend in ("torch", "both"):
        nets["torch"] = load_music_model(None, "cpu")
    if args.backend in ("onnx", "both"):
        nets["onnx"] = load_music_model(None, "cpu", inference=True)
        assert nets["onnx"].backend == "onnx"
    tok = next(iter(nets.values())).tokenizer
    (split_csv,) = sorted(args.data.glob("maestro-v*.csv"))
    with open(split_csv, newline="") as f:
        files = [args.data / r["midi_filename"] for r in csv.DictReader(f) if r["split"] == "test"]
    steps = int(round((args.end - args.start) * 100))
    rows = {k: [] for k in nets}
    cross = []
    for i, path in list(enumerate(files))[args.skip: args.skip + args.pieces]:
        notes = tok.notes(path)
        context, follows = split_piece(notes, args.start, args.end)
        prompt = context_tokens(tok, context, args.start)
        after = tok.encode_notes(follows - np.array([args.end, args.end, 0, 0]))
        after = [t for t, s in zip(after, tok.token_seconds(after)) if s <= args.lookahead]
        real_gap = close_gap(tok.encode_notes(_real_gap(notes, args.start, args.end)), steps, tok.eos_id)
        for k, ck in nets.items():
            gen = torch.Generator().manual_seed(1 + i) if k == "torch" else np.random.default_rng(1 + i)
            r = run_piece(ck.model, tok, prompt, after, real_gap, steps, args.candidates, gen)
            r["best_of_first"] = {n: min(r["nll"][:n]) for n in (1, 2, 4, 8, 16, 32) if n <= args.candidates}
            r.update(index=i, piece=path.name, prompt_tokens=len(prompt), lookahead_tokens=len(after))
            rows[k].append(r)
            print(json.dumps({"backend": k, **{x: v for x, v in r.items() if x not in ("nll", "gaps")}}), flush=True)
        if len(nets) == 2:  # the torch candidates through the ONNX graph
            want = rows["torch"][-1]
            got = score_candidates(nets["onnx"].model, prompt, want["gaps"] + [real_gap], after)
            diff = float(np.abs(np.subtract(got, want["nll"] + [want["real_gap"]])).max())
            cross.append({"max_nll_difference": round(diff, 4),
                          "same_choice": int(np.argmin(got[:-1])) == int(np.argmin(want["nll"]))})
            print(json.dumps({"onnx_vs_torch": cross[-1]}), flush=True)
    out = {"pieces": args.pieces, "gap": [args.start, args.end], "candidates": args.candidates,
           "summary": {k: summarize(v) for k, v in rows.items()}}
    if cross:
        out["onnx_vs_torch"] = {"max_nll_difference": max(c["max_nll_difference"] for c in cross),
                                "same_choice": sum(c["same_choice"] for c in cross), "of": len(cross)}
    if args.cli:
        piece = files[args.skip]
        out["cli"] = [cli_infill(piece, args.start, args.end, args.cli, b) for b in ("torch", "auto")]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
