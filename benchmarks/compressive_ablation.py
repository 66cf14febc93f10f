"""Small MAESTRO ablation (CPU is enough): batch composition vs memory vs compression.

Same tokens for every model: a Transformer on windows of one segment, and the compressive model
(no memory / memory only / memory + compressed memory) on windows of four segments.

    PYTHONPATH=src:plugins/compressive/src OMP_NUM_THREADS=1 \\
        python benchmarks/compressive_ablation.py --data .gpu/maestro-v2-tokens.npz --steps 1500
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from compressive_maestro import Streams, Windows, eval_windows, load, nll, train  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=".gpu/maestro-v2-tokens.npz")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seg", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-segments", type=int, default=4, help="segments per validation window")
    ap.add_argument("--n-embd", type=int, default=64)
    ap.add_argument("--only", default="", help="comma-separated row numbers to run (1-based; default all)")
    a = ap.parse_args()

    from seqkit_compressive.model import CompressiveConfig, CompressiveTransformer

    from seqkit.models.transformer import TransformerConfig, TransformerLM

    torch.set_num_threads(1)
    pieces, vocab = load(a.data)
    S, W = a.seg, 4 * a.seg
    val = eval_windows(pieces["validation"], a.eval_segments * S, 64)
    dims = dict(n_layer=2, n_head=4, n_embd=a.n_embd)

    def comp(reset=0.0, **kw):
        def make():
            return CompressiveTransformer(CompressiveConfig(vocab_size=vocab, seg_len=S, **dims, **kw))
        make.memory_reset = reset
        return make

    device = torch.device(a.device)
    print("| model (training windows) | val NLL | by segment |\n|---|---|---|")
    rows = [
        (f"transformer, max_len {S} (16 x {S})",
         lambda: TransformerLM(TransformerConfig(vocab_size=vocab, max_len=S, position="rope", **dims)), S, 16, S, False),
        (f"compressive, mem_len 0 (4 x {W})", comp(mem_len=0, cmem_len=0), W, 4, 0, False),
        (f"compressive, mem {S}, no cmem (4 x {W})", comp(mem_len=S, cmem_len=0), W, 4, 0, False),
        (f"compressive, mem {S}, cmem {S // 2}, conv (4 x {W})", comp(mem_len=S, cmem_len=S // 2), W, 4, 0, False),
        (f"compressive, mem {S}, no cmem, streams (16 x {S})",
         comp(mem_len=S, cmem_len=0), S, 16, 0, True),
        (f"compressive, mem {S}, cmem {S // 2}, conv, streams (16 x {S})",
         comp(mem_len=S, cmem_len=S // 2), S, 16, 0, True),
        (f"compressive, mem {S}, cmem {S // 2}, conv, streams, memory_reset 0.125 (16 x {S})",
         comp(reset=0.125, mem_len=S, cmem_len=S // 2), S, 16, 0, True),
    ]
    only = {int(x) for x in a.only.split(",") if x}
    for k, (name, make, length, batch, chunk, stream) in enumerate(rows, 1):
        if only and k not in only:
            continue
        torch.manual_seed(0)
        model = make().to(device)
        data = Streams(pieces["train"], length, batch, seed=1) if stream else Windows(pieces["train"], length, seed=1)
        train(model, data, a.steps, batch, a.lr, device, 0, streams=stream,
              memory_reset=getattr(make, "memory_reset", 0.0))
        v, per = nll(model, val, chunk, device)
        segs = ", ".join(f"{x:.3f}" for x in per.view(-1, S).mean(1).tolist())
        print(f"| {name} | {v:.3f} | {segs} |", flush=True)


if __name__ == "__main__":
    main()
