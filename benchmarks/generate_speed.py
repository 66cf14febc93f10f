"""Sampling speed of every shipped language model on the CPU (torch, one thread).

    OMP_NUM_THREADS=1 python benchmarks/generate_speed.py [--models names/gru ...] [--steps 32]

For each shipped model (the names RNNs and Transformer, the abc LSTM, the Music Transformer, the
compressive Transformer) and batch 1 and 16: tokens/s of ``seqkit.generate`` from a one-token
prompt, and the time of one sampling step (ms) just before the context fills (a prompt of
``max_len - n - 1`` tokens, ``n = min(steps, max_len // 2)``: every timed step reads an almost full
context) and after it (a prompt of ``max_len`` tokens, ``steps`` steps: every timed step is past
the context; for the compressive model the
context is what fills its memory and compressed memory, ``seg_len + mem_len + cmem_len *
cmem_ratio``). ``after/before`` is their ratio (the reference: at most 1.5).

Times are this process's CPU time (``time.process_time``, torch on one thread), not wall-clock
time, so that other programs on a shared machine do not change them; tokens/s is batch / CPU
seconds per step. Each time is the best of up to three runs. Recurrent models have no context to fill (``-``). The seq2seq models
of numerals are not language models and are not timed here (benchmarks/numerals_speed.py).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import seqkit

MODELS = ["names/gru", "names/lstm", "names/rnn", "names/transformer", "abc/lstm", "music/music-transformer",
          "music/compressive"]
REFERENCE = 1.5  # past the context, a step costs at most this many times a step before it


def _context(model) -> int | None:
    c = model.config
    if getattr(c, "max_len", None):
        return c.max_len
    if hasattr(c, "seg_len"):  # compressive: the memories fill after (cmem + mem) / ... segments
        return c.seg_len + c.mem_len + c.cmem_len * c.cmem_ratio
    return None


def _sample(model, prompt, n, g, cond, on_step=None):
    own = getattr(model, "generate", None)  # the Music Transformer's own loop (seqkit 0.4): the before table
    if callable(own) and cond is None:
        return own(prompt, n, temperature=1.0, generator=g, on_step=on_step)
    return seqkit.generate(model, prompt, n, temperature=1.0, cond=cond, generator=g, on_step=on_step)


def _time_steps(model, prompt, n, cond, repeat: int = 3) -> float:
    """Seconds per step of ``n`` sampled tokens after ``prompt`` (the prompt's forward excluded:
    the CPU time from the first new token to the last); the best of ``repeat`` runs (fewer when
    one run costs more than 5 s)."""
    best, spent = float("inf"), 0.0
    for _ in range(repeat):
        stamps = []
        t0 = time.process_time()
        _sample(model, prompt, n + 1, torch.Generator().manual_seed(0), cond,
                on_step=lambda k=1, stamps=stamps: stamps.append(time.process_time()))
        best = min(best, (stamps[-1] - stamps[0]) / (len(stamps) - 1))
        spent += time.process_time() - t0
        if spent > 5.0:
            break
    return best


def bench(spec: str, steps: int, batches) -> list[dict]:
    task, name = spec.split("/")
    ck = seqkit.load_checkpoint(seqkit.find_checkpoint(name, task), "cpu")
    model = ck.model.eval()
    V = getattr(model.config, "vocab_size", 50)
    n_cond = getattr(model.config, "n_cond", 0)
    ctx = _context(model)
    rows = []
    for B in batches:
        cond = torch.zeros(B, dtype=torch.long) if n_cond else None
        gen = torch.Generator().manual_seed(1)
        short = torch.randint(1, V, (B, 1), generator=gen)
        _sample(model, short, 4, torch.Generator().manual_seed(0), cond)  # warm-up
        first = _time_steps(model, short, steps, cond)
        before = after = None
        if ctx:
            n = min(steps, ctx // 2)
            before = _time_steps(model, torch.randint(1, V, (B, ctx - n - 1), generator=gen), n, cond)
            after = _time_steps(model, torch.randint(1, V, (B, ctx), generator=gen), steps, cond)
        rows.append({"model": spec, "batch": B, "tokens_per_s": round(B / first, 1),
                     "ms_per_step": round(first * 1e3, 3),
                     "ms_per_step_before": None if before is None else round(before * 1e3, 3),
                     "ms_per_step_after": None if after is None else round(after * 1e3, 3),
                     "after_over_before": None if after is None else round(after / before, 2),
                     "context": ctx})
        print(_line(rows[-1]), flush=True)
    return rows


def _line(r) -> str:
    before = "-" if r["ms_per_step_before"] is None else f"{r['ms_per_step_before']:.2f}"
    after = "-" if r["ms_per_step_after"] is None else f"{r['ms_per_step_after']:.2f}"
    ratio = "-" if r["after_over_before"] is None else f"{r['after_over_before']:.2f}"
    ok = "" if r["after_over_before"] is None else ("ok" if r["after_over_before"] <= REFERENCE else "SLOW")
    return (f"| {r['model']} | {r['batch']} | {r['tokens_per_s']:.0f} | {r['ms_per_step']:.2f} | {before} | "
            f"{after} | {ratio} {ok} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--batch-size", nargs="+", type=int, default=[1, 16])
    ap.add_argument("--steps", type=int, default=32, help="timed steps per measurement")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    a = ap.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, CPU time of {a.steps} steps (before the context fills: at "
          f"most max_len // 2), best of up to 3 runs; reference: after/before <= {REFERENCE}")
    print("| model | batch | tokens/s | ms/step | ms/step just before the context fills | ms/step after it | "
          "after/before |")
    print("|---|---|---|---|---|---|---|")
    rows = [r for m in a.models for r in bench(m, a.steps, a.batch_size)]
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    slow = [f"{r['model']} (batch {r['batch']})" for r in rows
            if r["after_over_before"] is not None and r["after_over_before"] > REFERENCE]
    print("past the context: " + ("every model within the reference" if not slow else "SLOWER than the reference: "
                                  + ", ".join(slow)))


if __name__ == "__main__":
    main()
