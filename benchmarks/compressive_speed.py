"""Compressive Transformer speed: training tokens/s, generation tokens/s (batch 1), peak memory.

Settings of the issue's reference (lucidrains/compressive-transformer-pytorch on one H100: about
62k training tokens/s, 104 generated tokens/s): d512, 6 layers, 8 heads, segment 1024, memory 1024,
compressed memory 256, ratio 4, memory layers 5 and 6, batch 2 x 4096 tokens.

The training step is the core Trainer's (bf16 autocast, ``lm_loss`` with the reconstruction loss,
AdamW, clipping at 1.0, the finiteness check that syncs every step); generation is core
``seqkit.generate`` (temperature 1, one token per call, memories carried; CUDA graphs unless
``--no-graphs``).

    PYTHONPATH=src:plugins/compressive/src python benchmarks/compressive_speed.py [--compile]
    # the same tokens per step trained on streams (memories carried across steps, one segment deep)
    PYTHONPATH=src:plugins/compressive/src python benchmarks/compressive_speed.py --streams --batch 8 --length 1024
    python benchmarks/compressive_speed.py --small --device cpu     # a smoke test
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def config(small: bool, vocab: int):
    from seqkit_compressive.model import CompressiveConfig

    if small:
        return CompressiveConfig(vocab_size=vocab, n_layer=2, n_head=2, n_embd=64, seg_len=64, mem_len=64,
                                 cmem_len=16, cmem_ratio=4, memory_layers=(2,))
    return CompressiveConfig(vocab_size=vocab, n_layer=6, n_head=8, n_embd=512, seg_len=1024, mem_len=1024,
                             cmem_len=256, cmem_ratio=4, memory_layers=(5, 6))


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_train(model, device, batch, length, steps, warmup, compile_model, streams=False):
    from seqkit.train.streaming import StreamMemories
    from seqkit.train.trainer import lm_loss

    memories = StreamMemories(1) if streams else None

    model.train()
    run = torch.compile(model) if compile_model else model
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    vocab = model.config.vocab_size
    data = torch.randint(0, vocab, (steps + warmup, batch, length + 1), device=device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    t_first = None
    for s in range(steps + warmup):
        if s == warmup:
            sync(device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
        t_step = time.perf_counter()
        batch_ = {"input": data[s, :, :-1], "target": data[s, :, 1:]}
        reading = memories.reading(run, s, s, batch, device) if memories else run
        with amp:
            loss, n, correct = lm_loss(reading, batch_)
        if not torch.isfinite(loss):
            raise RuntimeError("non-finite loss")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if memories:
            memories.commit(reading, s)
        if s == 0:
            sync(device)
            t_first = time.perf_counter() - t_step
    sync(device)
    dt = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None
    return {"tokens_per_s": steps * batch * length / dt, "step_ms": 1000 * dt / steps,
            "first_step_s": t_first, "peak_gib": peak, "aux_loss": float(model.aux_loss.detach()) if model.aux_loss is not None else 0.0,
            "loss": loss.detach().item()}


def bench_generate(model, device, tokens, graphs, dtype, compile_decode=False):
    from seqkit.generation.sampling import generate

    model.eval()
    model.to(dtype)
    model.cuda_graphs = graphs
    model.compile_decode = compile_decode
    prompt = torch.zeros(1, 1, dtype=torch.long, device=device)
    g = torch.Generator(device=device).manual_seed(0)
    generate(model, prompt, 8, generator=g)  # warm-up (kernels, rope tables)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync(device)
    t0 = time.perf_counter()
    out = generate(model, prompt, tokens, generator=g)
    sync(device)
    dt = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None
    model.to(torch.float32)
    return {"tokens": int(out.size(1)), "tokens_per_s": out.size(1) / dt, "peak_gib": peak,
            "dtype": str(dtype).removeprefix("torch."), "cuda_graphs": graphs, "compiled": compile_decode}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--small", action="store_true", help="tiny model (smoke test)")
    ap.add_argument("--vocab", type=int, default=391, help="vocabulary (391 = performance tokens)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--length", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--compile", action="store_true", help="torch.compile the model for training")
    ap.add_argument("--streams", action="store_true", help="train on streams (rows read on across "
                    "steps, as `seqkit music train` does by default); --length must be whole segments")
    ap.add_argument("--compile-decode", action="store_true", help="only: generation with a compiled one-token step")
    ap.add_argument("--gen-tokens", type=int, default=2048)
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--no-gen", action="store_true")
    ap.add_argument("--eager-gen-tokens", type=int, default=256, help="also time eager steps (0 = skip)")
    ap.add_argument("--json-out", help="write the results here too")
    a = ap.parse_args()

    from seqkit_compressive.model import CompressiveTransformer

    device = torch.device(a.device)
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    cfg = config(a.small, a.vocab)
    model = CompressiveTransformer(cfg).to(device)
    res = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "torch": torch.__version__, "parameters": sum(p.numel() for p in model.parameters()),
           "config": {k: getattr(cfg, k) for k in ("n_layer", "n_head", "n_embd", "seg_len", "mem_len",
                                                  "cmem_len", "cmem_ratio", "memory_layers", "vocab_size")},
           "batch": [a.batch, a.length], "streams": a.streams}
    if not a.no_train:
        try:
            res["train"] = bench_train(model, device, a.batch, a.length, a.steps, a.warmup, a.compile, a.streams)
            res["train"]["compiled"] = a.compile
        except Exception as exc:  # report and go on with generation
            print(f"training failed: {exc!r}", flush=True)
    runs = []
    if a.compile_decode:
        runs = [(a.gen_tokens, True, torch.float32, True)]
    elif not a.no_gen:
        runs = [(a.gen_tokens, True, torch.float32, False)]
        if device.type == "cuda":
            runs.append((a.gen_tokens, True, torch.bfloat16, False))
        if a.eager_gen_tokens:
            runs.append((a.eager_gen_tokens, False, torch.float32, False))
    res["generate"] = []
    for tokens, graphs, dtype, compiled in runs:
        try:
            res["generate"].append(bench_generate(model, device, tokens, graphs, dtype, compiled))
        except Exception as exc:  # report and go on with the other measurements
            print(f"generate ({dtype}, graphs={graphs}, compiled={compiled}) failed: {exc!r}", flush=True)
            model.to(torch.float32)
    print(json.dumps(res, indent=1))
    t = res.get("train")
    rows = []
    if t:
        how = (" compiled" if a.compile else "") + (f" streams {a.batch} x {a.length}" if a.streams else "")
        rows.append(f"| train{how} | {t['tokens_per_s']:,.0f} tok/s | "
                    f"{t['step_ms']:.1f} ms/step | peak {t['peak_gib'] or 0:.2f} GiB |")
    for gres in res.get("generate", []):
        how = (" compiled" if gres["compiled"] else "") + (" graphs" if gres["cuda_graphs"] else " eager")
        rows.append(f"| generate {gres['dtype']}{how} | "
                    f"{gres['tokens_per_s']:,.0f} tok/s | {gres['tokens']} tokens | peak {gres['peak_gib'] or 0:.2f} GiB |")
    print("\n".join(rows))
    if a.json_out:
        with open(a.json_out, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
