"""Training speed of each shipped architecture on the CPU through the core Trainer, against a
reference revision of the code in the same run.

For each architecture the Trainer trains on synthetic data for ``--steps`` steps in a fresh
process (one thread); a step's time is the time from one call of the loss function to the next
(forward, backward, optimizer, the Trainer's bookkeeping and, on streams, its memories), and a
run's number is the median over its steps after the first two, so start-up, saving and
evaluation do not count. The reference revision (default ``main``) is checked out with ``git
archive`` into a temporary folder and measured the same way, alternating with the working tree,
``--rounds`` times; the table gives each tree's best round (on a shared machine the least
disturbed one; the median of the rounds is in brackets) and the ratio of the best rounds (above 1
= slower now).

    OMP_NUM_THREADS=1 python benchmarks/train_speed.py                # every architecture vs main
    python benchmarks/train_speed.py --ref HEAD~3 --only compressive-streams --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOCAB = 96

# name: (model type, settings, batch size, tokens per row, kind)
ARCHS = {
    "rnn-lm": ("rnn-lm", {"cell": "lstm", "n_embd": 64, "hidden": 128, "n_layer": 2}, 32, 64, "lm"),
    "transformer-lm": ("transformer-lm", {"n_layer": 4, "n_head": 4, "n_embd": 128, "max_len": 64}, 32, 64, "lm"),
    "gru-seq2seq": ("gru-seq2seq", {"n_embd": 64, "hidden": 128, "n_layer": 1}, 32, 24, "seq2seq"),
    "transformer-seq2seq": ("transformer-seq2seq", {"n_layer": 2, "n_head": 4, "n_embd": 128}, 32, 24, "seq2seq"),
    "music-transformer": ("music-transformer", {"n_layer": 2, "n_head": 4, "n_embd": 128, "d_ff": 512, "max_len": 256, "dropout": 0.0}, 8, 256,
                          "lm"),
    "compressive-windows": ("compressive", {"n_layer": 2, "n_head": 4, "n_embd": 128, "seg_len": 64, "mem_len": 64,
                                            "cmem_len": 32}, 8, 256, "lm"),
    "compressive-streams": ("compressive", {"n_layer": 2, "n_head": 4, "n_embd": 128, "seg_len": 64, "mem_len": 64,
                                            "cmem_len": 32}, 16, 64, "streams"),
}


# ---------------------------------------------------------------- one measurement (child process)

class _Streams:
    """Synthetic streams: row b of step t continues row b of step t - groups."""

    def __init__(self, seq_len: int, groups: int = 4, rows: int = 4096):
        import torch

        self.seq_len, self.stream_groups = seq_len, groups
        self.data = torch.randint(0, VOCAB, (rows, seq_len + 1), generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return len(self.data)

    def batches(self, epoch, batch_size, seed=0, rank=0, world=1):
        return [list(range(i, i + batch_size)) for i in range(0, len(self.data) - batch_size + 1, batch_size)]

    def __getitem__(self, i):
        w = self.data[i]
        return {"input": w[:-1], "target": w[1:]}


def _api(name: str, home: str):
    """``name`` from its home since seqkit 0.6 (``seqkit.train`` ...), or from ``seqkit`` itself in a
    reference revision before it moved there; ``None`` where neither has it."""
    import importlib

    import seqkit

    try:
        return getattr(importlib.import_module(home), name)
    except (ImportError, AttributeError):
        return getattr(seqkit, name, None)


def _data(kind: str, batch: int, length: int):
    import torch

    g = torch.Generator().manual_seed(0)
    if kind == "streams":
        return _Streams(length)
    if kind == "seq2seq":
        src = torch.randint(3, VOCAB, (2048, length), generator=g)
        tgt = torch.randint(3, VOCAB, (2048, length + 1), generator=g)
        return [{"src": s, "tgt_in": t[:-1], "tgt_out": t[1:]} for s, t in zip(src, tgt)]
    w = torch.randint(0, VOCAB, (2048, length + 1), generator=g)
    return [{"input": x[:-1], "target": x[1:]} for x in w]


def child(arch: str, steps: int, out: str) -> float:
    """Median milliseconds per training step of ``arch`` (see the module's doc)."""
    import torch

    import seqkit

    torch.set_num_threads(1)
    model_type, settings, batch, length, kind = ARCHS[arch]
    mt = seqkit.get_model_type(model_type)
    extra = {"src_vocab": VOCAB, "tgt_vocab": VOCAB} if kind == "seq2seq" else {"vocab_size": VOCAB}
    torch.manual_seed(0)
    model = mt.build(mt.make_config({**settings, **extra}))
    data = _data(kind, batch, length)
    if kind == "streams" and _api("carries_memory", "seqkit.train") is None:  # before the memory protocol
        model.carry_memories, model.stream_groups = True, data.stream_groups
    loss = _api("seq2seq_loss", "seqkit.train") if kind == "seq2seq" else seqkit.lm_loss
    calls: list[float] = []

    def timed(model, batch):
        calls.append(time.perf_counter())
        return loss(model, batch)

    config = _api("TrainConfig", "seqkit.train")(steps=steps, batch_size=batch, lr=1e-3, eval_every=steps, device="cpu",
                                                progress=False, seed=0)
    seqkit.Trainer(model, config, data, loss_fn=timed, out=out).fit()
    gaps = [b - a for a, b in zip(calls[2:steps], calls[3:steps])]
    return 1000 * statistics.median(gaps)


# ---------------------------------------------------------------- the comparison

def _reference_tree(ref: str, where: Path) -> Path:
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src", "plugins", "examples"],
                         check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=tar, check=True)
    return where


def _pythonpath(tree: Path) -> str:
    parts = [tree / "src", *sorted((tree / "plugins").glob("*/src")), tree / "examples" / "seqkit-text" / "src"]
    return os.pathsep.join(str(p) for p in parts)


def _measure(tree: Path, arch: str, steps: int, work: Path) -> float:
    """Milliseconds per step of ``arch`` with the code in ``tree`` (a child process)."""
    env = {**os.environ, "PYTHONPATH": _pythonpath(tree), "OMP_NUM_THREADS": "1", "SEQKIT_PROGRESS": "0",
           "SEQKIT_NO_COMMAND_CACHE": "1"}
    out = tempfile.mkdtemp(dir=work)
    r = subprocess.run([sys.executable, __file__, "--child", arch, "--steps", str(steps), "--out", out],
                       env=env, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{arch} at {tree}: {r.stderr.strip().splitlines()[-1:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])["ms_per_step"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="main", help="git revision to compare with (default: main)")
    ap.add_argument("--train-steps", type=int, default=20, help="steps per run (the first two are not timed)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating measurements per tree")
    ap.add_argument("--only", default="", help="comma-separated architectures (default: all)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps({"ms_per_step": child(a.child, a.steps, a.out)}))
        return
    archs = [x for x in a.only.split(",") if x] or list(ARCHS)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trees = {a.ref: _reference_tree(a.ref, Path(tempfile.mkdtemp(dir=work))), "now": ROOT}
        print(f"| architecture (batch x tokens) | {a.ref} ms/step (median) | now ms/step (median) | now / {a.ref} |")
        print("|---|---|---|---|")
        for arch in archs:
            per_step: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(a.rounds):
                for name, tree in trees.items():
                    per_step[name].append(_measure(tree, arch, a.train_steps, work))
            ref, now = (min(per_step[n]) for n in trees)
            mid = {n: statistics.median(per_step[n]) for n in trees}
            _, _, batch, length, _ = ARCHS[arch]
            print(f"| {arch} ({batch} x {length}) | {ref:.1f} ({mid[a.ref]:.1f}) | {now:.1f} ({mid['now']:.1f}) "
                  f"| {now / ref:.2f} |", flush=True)


if __name__ == "__main__":
    main()
