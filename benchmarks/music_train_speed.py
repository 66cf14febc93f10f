"""Training throughput of the Music Transformer on one GPU: tokens/s, peak memory, MFU.

    python benchmarks/music_train_speed.py --preset paper --position rope --batch-size 32 --compile
    python benchmarks/music_train_speed.py --position relative --batch-size 2 8 --no-compile

Runs the same step the seqkit Trainer runs (bf16 autocast, AdamW, grad-norm clip 1.0) on random
tokens of the preset's length. MFU counts 6 FLOPs per parameter of every matmul (head included,
embedding lookups excluded) plus 6 * n_layer * T * d_model per token for causal attention
(QK^T and AV, half the matrix), against the GPU's dense bf16 peak (--peak-tflops, H100 SXM: 989).
The relative path's extra Q Er^T product is not counted (MFU is of the model, not the method).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from seqkit_midi_transformer.model import PRESETS, MusicTransformer, MusicTransformerConfig


def flops_per_token(model: MusicTransformer, T: int) -> float:
    c = model.config
    matmul = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and "wte" not in n and ".er" not in n)
    matmul += c.vocab_size * c.n_embd  # the tied output head
    return 6 * matmul + 6 * c.n_layer * T * c.n_embd


def bench(preset, position, batch, seq_len, steps, warmup, compile_, peak):
    cfg = MusicTransformerConfig(**{**PRESETS[preset], "position": position, "max_len": seq_len})
    torch.manual_seed(0)
    model = MusicTransformer(cfg).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    fwd = torch.compile(model) if compile_ else model
    x = torch.randint(0, 388, (batch, seq_len + 1), device="cuda")
    inp, tgt = x[:, :-1], x[:, 1:]

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits, _ = fwd(inp)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), tgt.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    warm_s = time.perf_counter() - t0
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    tps = batch * seq_len * steps / dt
    return {"preset": preset, "position": position, "batch": batch, "seq_len": seq_len,
            "compile": compile_, "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
            "tokens_per_s": round(tps), "step_ms": round(dt / steps * 1000, 1),
            "peak_mem_GiB": round(torch.cuda.max_memory_allocated() / 2**30, 2),
            "mfu": round(tps * flops_per_token(model, seq_len) / (peak * 1e12), 3),
            "warmup_s": round(warm_s, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--position", nargs="+", default=["rope"])
    ap.add_argument("--batch-size", nargs="+", type=int, default=[32])
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    ap.add_argument("--json", help="append results as JSON lines to this file")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = True
    rows = []
    for position in a.position:
        for b in a.batch_size:
            try:
                r = bench(a.preset, position, b, a.seq_len, a.steps, a.warmup, a.compile, a.peak_tflops)
            except torch.OutOfMemoryError:
                r = {"preset": a.preset, "position": position, "batch": b, "error": "out of memory"}
            torch.cuda.empty_cache()
            rows.append(r)
            print(json.dumps(r), flush=True)
            if a.json:
                with open(a.json, "a") as f:
                    f.write(json.dumps({"bench": "train", "gpu": torch.cuda.get_device_name(), **r}) + "\n")
    cols = ["position", "batch", "seq_len", "compile", "tokens_per_s", "step_ms", "peak_mem_GiB", "mfu"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, r.get("error", ""))) for c in cols) + " |")


if __name__ == "__main__":
    main()
