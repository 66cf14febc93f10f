"""What the music sampling controls (--key, --pitch-range, --velocity, --density) do with the
shipped model: per setting, pieces of SECONDS s continuing the Bach primer with fixed seeds, and

* in key: share of the new notes whose pitch class is in the key (``--key``'s, else the primer's
  Krumhansl-Schmuckler key), natural minor for minor keys; for a ``--key`` row also the share of
  the uncontrolled pieces' ("none") notes in that same key;
* notes/s: new notes per second of new music; for a ``--density`` row also how many pieces came
  within ±15% of the target;
* outside: new notes outside ``--pitch-range`` / ``--velocity``;
* log p: mean log-prob of the chosen tokens under the model's own (unconstrained) logits, and its
  change against no control;
* KL: mean KL(constrained || model) per token, in nats: what the control moves the model's
  next-token distribution, step by step (for a mask: minus the log of the probability it keeps).

    python benchmarks/music_controls.py [--pieces 10] [--seconds 20] [--model music-transformer]

Runs on the model's default backend (ONNX Runtime on the CPU for the shipped model).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SETTINGS = [
    ("none", {}),
    ("--key auto (strength 4)", {"key": "auto", "key_strength": 4.0}),
    ("--key auto (strength 20: mask)", {"key": "auto", "key_strength": 20.0}),
    ("--key \"Eb major\" (strength 20: mask)", {"key": "Eb major", "key_strength": 20.0}),
    ("--pitch-range C4:C6", {"pitch_range": "C4:C6"}),
    ("--velocity 40:80", {"velocity": "40:80"}),
    ("--density 2", {"density": 2.0}),
    ("--density 5", {"density": 5.0}),
    ("--density 10", {"density": 10.0}),
]


class Recorder:
    """First processor: log-probs of the logits it sees (the model's, after suppress_ids), and
    of each chosen token once the next step shows it."""

    def __init__(self):
        self.prev, self.chosen, self.kl = None, [], []

    def __call__(self, tokens, logits):
        if self.prev is not None:
            self.chosen.append(self.prev[np.arange(len(tokens)), tokens[:, -1]])
        z = logits - logits.max(-1, keepdims=True)
        self.prev = z - np.log(np.exp(z).sum(-1, keepdims=True))
        return logits

    def last(self, tokens, logits):
        """Last processor: KL of the distribution sampled from against the model's own."""
        z = logits - logits.max(-1, keepdims=True)
        q = z - np.log(np.exp(z).sum(-1, keepdims=True))
        pq = np.exp(q)
        with np.errstate(invalid="ignore"):  # -inf - -inf where both are masked: not counted
            self.kl.append(np.where(pq > 0, pq * (q - self.prev), 0.0).sum(-1))
        return logits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pieces", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--model", default="music-transformer")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from seqkit_midi_transformer.controls import (
        MAJOR,
        MINOR,
        build,
        key_name,
        parse_key,
        parse_pitch_range,
        parse_velocity,
    )
    from seqkit_midi_transformer.features import find_key
    from seqkit_midi_transformer.generator import MUSIC, _budget, _sample
    from seqkit_midi_transformer.loading import load_music_model
    from seqkit_midi_transformer.primer import write_example_primer

    defaults = {p.name: p.default for p in MUSIC.params}
    ckpt = load_music_model(args.model, "cpu", inference=True)
    tok = ckpt.tokenizer
    with tempfile.TemporaryDirectory() as tmp:
        write_example_primer(Path(tmp) / "p.mid")
        prompt = tok.encode(Path(tmp) / "p.mid", add_bos=True)
    split = float(tok.token_seconds(prompt)[-1])
    primer_key = find_key(tok.decode_notes(prompt))
    n_new = _budget(defaults["tokens"], args.seconds, tok, [])
    print(f"model {ckpt.path.name} ({ckpt.backend}), {args.pieces} pieces x {args.seconds:g} s after the "
          f"{split:.1f} s Bach primer (key {key_name(*primer_key)}), seed {args.seed}, temperature "
          f"{defaults['temperature']}, top-k {defaults['top_k']}, top-p {defaults['top_p']}", flush=True)
    print("| setting | in key | in key without | notes/s | within ±15% | outside | mean log p | change | "
          "KL (nats/token) | time |")
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    base, plain = None, None  # the uncontrolled pieces' new pitch classes
    for name, c in SETTINGS:
        procs, info = build(tok, **c, primer_notes=tok.decode_notes(prompt), start=len(prompt))
        rec = Recorder()
        t0 = time.perf_counter()
        rows, _ = _sample(ckpt, tok, prompt, args.pieces, n_new, defaults["temperature"], defaults["top_k"],
                          defaults["top_p"], args.seed, args.seconds, None, [rec, *procs, rec.last])
        took = time.perf_counter() - t0
        tonic, mode = parse_key(info["key"]) if "key" in info else primer_key
        scale = np.zeros(12, bool)
        scale[(np.asarray(MAJOR if mode == "major" else MINOR) + tonic) % 12] = True
        lp = np.stack(rec.chosen, 1) if rec.chosen else np.zeros((args.pieces, 0))
        kl = np.stack(rec.kl, 1)
        in_key, rates, outside, logp, kls, pcs = [], [], 0, [], [], []
        for r, row in enumerate(rows):
            notes = tok.decode_notes(prompt + row)
            new = notes[notes[:, 0] >= split - 1e-9]
            in_key.append(scale[new[:, 2].astype(int) % 12])
            pcs.append(new[:, 2].astype(int) % 12)
            length = float(tok.token_seconds(row)[-1]) if row else 0.0
            rates.append(len(new) / max(length, 1e-9))
            if "pitch_range" in c:
                lo, hi = parse_pitch_range(c["pitch_range"])
                outside += int(((new[:, 2] < lo) | (new[:, 2] > hi)).sum())
            if "velocity" in c:
                lo, hi = parse_velocity(c["velocity"])
                outside += int(((new[:, 3] < lo) | (new[:, 3] > hi)).sum())
            logp.append(lp[r, :min(len(row), lp.shape[1])])
            kls.append(kl[r, :len(row)])
        mean_lp = float(np.concatenate(logp).mean())
        base = mean_lp if base is None else base
        plain = np.concatenate(pcs) if plain is None else plain
        keyname = info.get("key", key_name(*primer_key))
        out = "-" if not ({"pitch_range", "velocity"} & set(c)) else str(outside)
        without = f"{scale[plain].mean():.1%}" if "key" in c else "-"
        within = "-"
        if "density" in c:
            within = f"{sum(abs(r / c['density'] - 1) <= 0.15 for r in rates)}/{len(rates)}"
        print(f"| {name} | {np.concatenate(in_key).mean():.1%} ({keyname}) | {without} | {np.mean(rates):.2f} "
              f"(min {min(rates):.1f}, max {max(rates):.1f}) | {within} | {out} | {mean_lp:.3f} | "
              f"{mean_lp - base:+.3f} | {np.concatenate(kls).mean():.3f} | {took:.0f} s |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
