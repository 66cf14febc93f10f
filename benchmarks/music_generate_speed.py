"""Generation throughput of the Music Transformer: KV-cached sampling, batch 1 and batch 64.

    python benchmarks/music_generate_speed.py --preset paper --position rope relative --batch-size 1 64

A 256-token primer continued to 1,024 tokens (768 new tokens per row), top-k 0, temperature 1,
bf16 weights. tokens/s counts new tokens of all rows. ``--compile`` runs the one-token step as a
CUDA graph (torch.compile mode="reduce-overhead", static ring-buffer KV cache); the first call
(compilation, graph capture) is timed separately as warmup. Use --checkpoint to time a trained
model and --device cpu for the CPU.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from seqkit_midi_transformer.model import PRESETS, MusicTransformer, MusicTransformerConfig

from seqkit import generate


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def bench(model, batch, primer, new, compile_, dev):
    prompt = torch.randint(0, 388, (batch, primer), device=dev)
    g = torch.Generator(device=dev).manual_seed(0)
    model.compile_decode = compile_
    t0 = time.perf_counter()
    generate(model, prompt, new if compile_ else 8, generator=g)
    sync(dev)
    warm = time.perf_counter() - t0
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    out = generate(model, prompt, new, generator=g)
    sync(dev)
    dt = time.perf_counter() - t0
    r = {"batch": batch, "primer": primer, "new_tokens": new, "compile": compile_,
         "tokens_per_s": round(batch * out.shape[1] / dt, 1), "ms_per_step": round(dt / out.shape[1] * 1000, 3),
         "seconds": round(dt, 2), "warmup_s": round(warm, 1)}
    if dev.type == "cuda":
        r["peak_mem_GiB"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--position", nargs="+", default=["rope"])
    ap.add_argument("--checkpoint", help="time this checkpoint instead of random weights")
    ap.add_argument("--batch-size", nargs="+", type=int, default=[1, 64])
    ap.add_argument("--primer", type=int, default=256)
    ap.add_argument("--new", type=int, default=768)
    ap.add_argument("--compile", nargs="+", default=["yes"], choices=["yes", "no"])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json")
    a = ap.parse_args()
    dev = torch.device(a.device)
    rows = []
    for position in a.position:
        if a.checkpoint:
            from seqkit.io.checkpoints import load_checkpoint

            model = load_checkpoint(a.checkpoint, device=dev).model
            position = model.config.position
        else:
            torch.manual_seed(0)
            model = MusicTransformer(MusicTransformerConfig(**{**PRESETS[a.preset], "position": position})).to(dev)
        if dev.type == "cuda":
            model = model.to(torch.bfloat16)
        model.eval()
        for comp in a.compile:
            for b in a.batch_size:
                r = {"position": position, **bench(model, b, a.primer, a.new, comp == "yes" and dev.type == "cuda", dev)}
                rows.append(r)
                print(json.dumps(r), flush=True)
                if a.json:
                    with open(a.json, "a") as f:
                        f.write(json.dumps({"bench": "generate", "device": str(dev),
                                            "gpu": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", **r}) + "\n")
    cols = ["position", "batch", "compile", "tokens_per_s", "ms_per_step", "peak_mem_GiB", "warmup_s"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")


if __name__ == "__main__":
    main()
