"""MAESTRO validation NLL: Compressive Transformer vs plain Transformer at equal segment length.

Both models have the same width/depth/heads and see the same number of training tokens. The plain
Transformer (core ``transformer-lm``, rotary positions) trains on windows of ``--seg`` tokens; the
compressive model trains on windows of ``--window`` tokens that it reads ``--seg`` tokens at a time,
carrying memories (TBPTT). Both then score the same validation windows of ``--window`` tokens: the
Transformer as independent chunks of ``--seg`` tokens, the compressive model segment by segment with
its memories. The data are MAESTRO v2 performance tokens (the midi-transformer plugin's token archive,
read here with numpy only: ``tokens``, ``offsets``, ``splits``).

    PYTHONPATH=src:plugins/compressive/src python benchmarks/compressive_maestro.py \\
        --data .gpu/maestro-v2-tokens.npz --steps 600
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(path):
    z = np.load(path)
    tokens, offsets, splits = z["tokens"], z["offsets"], z["splits"]
    vocab = int(json.loads(str(z["tokenizer"])).get("vocab_size", 0)) if "tokenizer" in z else 0
    pieces = {s: [tokens[offsets[i]:offsets[i + 1]].astype(np.int64) for i in range(len(splits)) if splits[i] == s]
              for s in ("train", "validation")}
    return pieces, max(vocab, int(tokens.max()) + 1)


class Windows:
    """Random training windows of ``length + 1`` tokens inside pieces (no piece boundaries)."""

    def __init__(self, pieces, length, seed):
        self.pieces = [p for p in pieces if len(p) > length + 1]
        w = np.array([len(p) - length - 1 for p in self.pieces], dtype=np.float64)
        self.p = w / w.sum()
        self.length = length
        self.rng = np.random.default_rng(seed)

    def batch(self, n, device):
        idx = self.rng.choice(len(self.pieces), size=n, p=self.p)
        rows = []
        for i in idx:
            start = self.rng.integers(0, len(self.pieces[i]) - self.length - 1)
            rows.append(self.pieces[i][start:start + self.length + 1])
        x = torch.from_numpy(np.stack(rows)).to(device)
        return x[:, :-1], x[:, 1:]


class Streams:
    """``rows`` endless streams, each reading whole random pieces one after another; a batch is
    the next ``length + 1`` tokens of every row (overlapping the previous batch by one token), so
    row ``b`` of a batch continues row ``b`` of the one before (for models that carry memory)."""

    def __init__(self, pieces, length, rows, seed):
        self.pieces = pieces
        self.length = length
        self.rng = np.random.default_rng(seed)
        self.rows = [np.empty(0, dtype=np.int64) for _ in range(rows)]

    def batch(self, n, device):
        assert n == len(self.rows), "a stream batch has one row per stream"
        out = []
        for r, row in enumerate(self.rows):
            while len(row) < self.length + 1:
                row = np.concatenate([row, self.pieces[int(self.rng.integers(len(self.pieces)))]])
            out.append(row[:self.length + 1])
            self.rows[r] = row[self.length:]
        x = torch.from_numpy(np.stack(out)).to(device)
        return x[:, :-1], x[:, 1:]


def eval_windows(pieces, length, limit):
    """Consecutive non-overlapping windows of ``length + 1`` tokens from each validation piece."""
    out = []
    for p in pieces:
        for s in range(0, len(p) - length - 1, length):
            out.append(p[s:s + length + 1])
    rng = np.random.default_rng(0)
    if limit and len(out) > limit:
        out = [out[i] for i in sorted(rng.choice(len(out), size=limit, replace=False))]
    return np.stack(out)


def train(model, windows, steps, batch, lr, device, seconds, streams=False, memory_reset=0.0):
    """``steps`` AdamW steps; with ``streams``, each step reads on from the memories the step before
    left (core's ``StreamMemories``, as the Trainer carries them)."""
    from seqkit.train.streaming import StreamMemories
    from seqkit.train.trainer import lm_loss

    memories = StreamMemories(1, memory_reset, seed=0) if streams else None

    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warm = max(1, steps // 20)
    model.train()
    t0 = time.perf_counter()
    done = 0
    for step in range(steps):
        f = min(1.0, (step + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for g in opt.param_groups:
            g["lr"] = lr * f
        x, y = windows.batch(batch, device)
        run = memories.reading(model, step, step, batch, device) if memories else model
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss, _, _ = lm_loss(run, {"input": x, "target": y})
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if memories:
            memories.commit(run, step)
        done = step + 1
        if seconds and time.perf_counter() - t0 > seconds:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return {"steps": done, "tokens": done * batch * windows.length, "seconds": time.perf_counter() - t0,
            "last_train_loss": loss.detach().item()}


@torch.no_grad()
def nll(model, data, chunk, device, batch=16):
    """Mean NLL (nats/token) over every target of ``data`` [N, L+1]; ``chunk`` splits each window
    into independent pieces (for the plain Transformer), 0 = whole windows."""
    model.eval()
    tot, n = 0.0, 0
    per_seg = None
    for i in range(0, len(data), batch):
        w = torch.from_numpy(data[i:i + batch]).to(device)
        x, y = w[:, :-1], w[:, 1:]
        if chunk:
            B, L = x.shape
            x, y = x.reshape(B * (L // chunk), chunk), y.reshape(B * (L // chunk), chunk)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits, _ = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="none")
        tot += float(loss.sum())
        n += loss.numel()
        seg = loss.view(len(w), -1)
        per_seg = seg.sum(0) if per_seg is None else per_seg + seg.sum(0)
    return tot / n, per_seg / len(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=".gpu/maestro-v2-tokens.npz")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seg", type=int, default=512)
    ap.add_argument("--window", type=int, default=2048)
    ap.add_argument("--mem", type=int, default=512)
    ap.add_argument("--cmem", type=int, default=256)
    ap.add_argument("--ratio", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=512)
    ap.add_argument("--n-layer", type=int, default=6)
    ap.add_argument("--n-head", type=int, default=8)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=8, help="windows of --window tokens per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seconds", type=float, default=0, help="stop a training run after this long (0 = off)")
    ap.add_argument("--eval-windows", type=int, default=256)
    ap.add_argument("--json-out")
    a = ap.parse_args()

    from seqkit_compressive.model import CompressiveConfig, CompressiveTransformer

    from seqkit.models.transformer import TransformerConfig, TransformerLM

    device = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    pieces, vocab = load(a.data)
    val = eval_windows(pieces["validation"], a.window, a.eval_windows)
    res = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "vocab": vocab, "train_pieces": len(pieces["train"]),
           "train_tokens": int(sum(len(p) for p in pieces["train"])), "eval_windows": len(val),
           "eval_tokens": int(val.shape[0] * a.window), "args": vars(a)}
    dims = dict(n_layer=a.n_layer, n_head=a.n_head, n_embd=a.n_embd)
    runs = {
        "transformer": (TransformerLM(TransformerConfig(vocab_size=vocab, max_len=a.seg, position="rope", **dims)),
                        a.seg, a.batch * (a.window // a.seg), a.seg),
        "compressive": (CompressiveTransformer(CompressiveConfig(vocab_size=vocab, seg_len=a.seg, mem_len=a.mem,
                                                                 cmem_len=a.cmem, cmem_ratio=a.ratio, **dims)),
                        a.window, a.batch, 0),
    }
    for name, (model, length, batch, chunk) in runs.items():
        torch.manual_seed(0)
        model.to(device)
        r = train(model, Windows(pieces["train"], length, seed=1), a.steps, batch, a.lr, device, a.seconds)
        r["val_nll"], per_pos = nll(model, val, chunk, device)
        seg_means = per_pos.view(-1, a.seg).mean(1).tolist()  # NLL by segment of the window
        r["val_nll_by_segment"] = [round(v, 4) for v in seg_means]
        r["parameters"] = sum(p.numel() for p in model.parameters())
        res[name] = r
        print(name, json.dumps(r), flush=True)
        model.cpu()
    print(json.dumps(res, indent=1))
    print("| model | train tokens | train s | val NLL (nats/token) | by segment |\n|---|---|---|---|---|")
    for name in runs:
        r = res[name]
        print(f"| {name} | {r['tokens']:,} | {r['seconds']:.0f} | {r['val_nll']:.4f} | {r['val_nll_by_segment']} |")
    if a.json_out:
        with open(a.json_out, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
