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
from compressive_maestro import Windows, eval_windows, load, nll, train  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=".gpu/maestro-v2-tokens.npz")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seg", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    a = ap.parse_args()

    from seqkit_compressive.model import CompressiveConfig, CompressiveTransformer

    from seqkit.models.transformer import TransformerConfig, TransformerLM

    torch.set_num_threads(1)
    pieces, vocab = load(a.data)
    S, W = a.seg, 4 * a.seg
    val = eval_windows(pieces["validation"], W, 64)
    dims = dict(n_layer=2, n_head=4, n_embd=64)

    def comp(**kw):
        return lambda: CompressiveTransformer(CompressiveConfig(vocab_size=vocab, seg_len=S, **dims, **kw))

    device = torch.device(a.device)
    print("| model (training windows) | val NLL | by segment |\n|---|---|---|")
    for name, make, length, batch, chunk in [
        (f"transformer, max_len {S} (16 x {S})",
         lambda: TransformerLM(TransformerConfig(vocab_size=vocab, max_len=S, position="rope", **dims)), S, 16, S),
        (f"compressive, mem_len 0 (4 x {W})", comp(mem_len=0, cmem_len=0), W, 4, 0),
        (f"compressive, mem {S}, no cmem (4 x {W})", comp(mem_len=S, cmem_len=0), W, 4, 0),
        (f"compressive, mem {S}, cmem {S // 2}, conv (4 x {W})", comp(mem_len=S, cmem_len=S // 2), W, 4, 0),
    ]:
        torch.manual_seed(0)
        model = make().to(device)
        train(model, Windows(pieces["train"], length, seed=1), a.steps, batch, a.lr, device, 0)
        v, per = nll(model, val, chunk, device)
        segs = ", ".join(f"{x:.3f}" for x in per.view(-1, S).mean(1).tolist())
        print(f"| {name} | {v:.3f} | {segs} |", flush=True)


if __name__ == "__main__":
    main()
