"""Does a composer-conditioned music model (``music train --condition composer``) use its label?

1. **NLL gap**: on MAESTRO validation pieces whose composer the model knows (not ``other``), the
   mean NLL per token of each piece's first ``--window`` tokens under the model given the true
   composer, given a wrong one (each piece: the known composer ``len(values) // 2`` places on in
   the list), and under the base model (``--base``, no label).
2. **Classifier agreement**: an independent composer classifier, multinomial logistic regression
   (numpy, L2, standardised features) on per-piece features of the first ``--seconds`` s of
   each MAESTRO train piece: the 12-bin pitch-class histogram, pitch mean/std/range, notes per
   second, polyphony, median inter-onset interval, velocity mean/spread, pitch-class entropy
   (``music score``'s features). Its own held-out accuracy is on the validation pieces. Then
   ``--per-composer`` pieces of ``--seconds`` s are generated from silence for each of
   ``--composers`` with ``--composer`` and, with the same seeds, without it (the base model); the
   table gives how often the classifier names the composer asked for, against chance
   (1 / classes) and against the unconditioned pieces.

    python benchmarks/music_composer.py --model music-composer.json --data ../shared/data/maestro-v2.0.0
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def features(notes: np.ndarray) -> np.ndarray | None:
    from seqkit_midi_transformer.features import ioi, polyphony

    if len(notes) < 8:
        return None
    pc = np.bincount(notes[:, 2].astype(int) % 12, minlength=12) / len(notes)
    nz = pc[pc > 0]
    span = max(float(notes[:, 1].max() - notes[:, 0].min()), 1e-3)
    gaps = ioi(notes)
    return np.concatenate([pc, [notes[:, 2].mean(), notes[:, 2].std(), np.ptp(notes[:, 2]), len(notes) / span,
                                polyphony(notes), float(np.median(gaps)) if len(gaps) else 0.0,
                                notes[:, 3].mean(), notes[:, 3].std(), float(-(nz * np.log2(nz)).sum())]])


class Classifier:
    """Multinomial logistic regression on standardised features (gradient descent, L2)."""

    def fit(self, x: np.ndarray, y: np.ndarray, classes: int, l2: float = 1e-2, steps: int = 3000, lr: float = 0.5):
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-9
        z = np.c_[(x - self.mu) / self.sd, np.ones(len(x))]
        self.w = np.zeros((z.shape[1], classes))
        onehot = np.eye(classes)[y]
        for _ in range(steps):
            p = self._softmax(z @ self.w)
            self.w -= lr * (z.T @ (p - onehot) / len(z) + l2 * np.r_[self.w[:-1], np.zeros((1, classes))])
        return self

    @staticmethod
    def _softmax(a):
        a = a - a.max(1, keepdims=True)
        e = np.exp(a)
        return e / e.sum(1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (np.c_[(x - self.mu) / self.sd, np.ones(len(x))] @ self.w).argmax(1)


def nll(model, ids: list[int], cond: int | None) -> float:
    import torch

    with torch.no_grad():
        logits, _ = model(torch.tensor([ids[:-1]]), cond=None if cond is None else torch.tensor([cond]))
        return float(torch.nn.functional.cross_entropy(logits[0].float(), torch.tensor(ids[1:])))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--base", default="music-transformer")
    ap.add_argument("--data", default="../shared/data/maestro-v2.0.0")
    ap.add_argument("--val-pieces", type=int, default=40)
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--composers", default="Chopin,Bach,Schubert,Liszt,Debussy")
    ap.add_argument("--per-composer", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-nll", action="store_true")
    ap.add_argument("--classifier-limit", type=int, default=0, help="pieces per split for the classifier (0: all)")
    args = ap.parse_args()

    import torch
    from seqkit_midi_transformer import conditioning
    from seqkit_midi_transformer.commands import load_music_model
    from seqkit_midi_transformer.features import maestro_split, read_piece
    from seqkit_midi_transformer.loaders import maestro_rows

    from seqkit.generation import run_generator

    torch.set_num_threads(2)
    data = Path(args.data)
    cond_model = load_music_model(args.model, "cpu")
    cond = conditioning.info(cond_model.meta)
    values = [v for v in cond["values"] if v != conditioning.OTHER]
    composer_of = {r["midi_filename"]: r["canonical_composer"] for r in maestro_rows(data)}
    tok = cond_model.tokenizer

    # 1. the NLL gap
    if not args.skip_nll:
        base = load_music_model(args.base, "cpu")
        val = [f for f in maestro_split(data, "validation") if composer_of[str(f.relative_to(data))] in values]
        val = val[:: max(1, len(val) // args.val_pieces)][: args.val_pieces]
        rows = []
        t0 = time.perf_counter()
        for f in val:
            ids = tok.encode(f, add_bos=True)[: args.window + 1]
            true = values.index(composer_of[str(f.relative_to(data))])
            wrong = (true + len(values) // 2) % len(values)
            rows.append((nll(cond_model.model, ids, true + 1), nll(cond_model.model, ids, wrong + 1),
                         nll(base.model, ids, None)))
        r = np.array(rows)
        gap = r[:, 1] - r[:, 0]
        print(f"NLL on {len(val)} MAESTRO validation pieces (first {args.window} tokens each), nats/token "
              f"({time.perf_counter() - t0:.0f} s):")
        print("| model | NLL |\n|---|---|")
        print(f"| {Path(args.model).stem}, true composer | {r[:, 0].mean():.4f} |")
        print(f"| {Path(args.model).stem}, wrong composer | {r[:, 1].mean():.4f} |")
        print(f"| {args.base} (no label) | {r[:, 2].mean():.4f} |")
        print(f"gap wrong - true: {gap.mean():+.4f} nats/token (true likelier on {(gap > 0).sum()}/{len(gap)} "
              f"pieces); true - base: {(r[:, 0] - r[:, 2]).mean():+.4f}", flush=True)

    # 2. the classifier
    t0 = time.perf_counter()
    sets = {}
    for split in ("train", "validation"):
        x, y = [], []
        for f in maestro_split(data, split)[: args.classifier_limit or None]:
            c = composer_of[str(f.relative_to(data))]
            if c not in values:
                continue
            feats = features(read_piece(f, args.seconds)[0])
            if feats is not None:
                x.append(feats)
                y.append(values.index(c))
        sets[split] = (np.array(x), np.array(y))
    clf = Classifier().fit(*sets["train"], classes=len(values))
    xv, yv = sets["validation"]
    acc = float((clf.predict(xv) == yv).mean())
    major = float((yv == np.bincount(sets["train"][1]).argmax()).mean())
    print(f"\nclassifier: {len(values)} composers, {len(sets['train'][1])} train pieces, first {args.seconds:g} s; "
          f"held-out accuracy {acc:.1%} on {len(yv)} validation pieces (chance {1 / len(values):.1%}, "
          f"always the commonest composer {major:.1%}) ({time.perf_counter() - t0:.0f} s)", flush=True)

    asked = [values[conditioning.resolve(c, cond, "model") - 1] for c in args.composers.split(",")]
    print(f"\ngenerated from silence, {args.per_composer} pieces x {args.seconds:g} s per composer, seed {args.seed}:")
    print("| composer asked | classifier agrees, with --composer | without (base model, same seeds) |")
    print("|---|---|---|")
    hits, plain_hits, t0 = [], [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        plain = run_generator("music", model=args.base, count=args.per_composer * len(asked),
                              seconds=args.seconds, seed=args.seed, device="cpu")
        plain_pred = []
        for i, o in enumerate(plain.outputs):
            p = Path(tmp) / f"plain_{i}.mid"
            p.write_bytes(o.files["mid"])
            feats = features(read_piece(p)[0])
            plain_pred.append(-1 if feats is None else int(clf.predict(feats[None])[0]))
        for k, name in enumerate(asked):
            res = run_generator("music", model=args.model, composer=name, count=args.per_composer,
                                seconds=args.seconds, seed=args.seed + 1 + k, device="cpu")
            pred = []
            for i, o in enumerate(res.outputs):
                p = Path(tmp) / f"{k}_{i}.mid"
                p.write_bytes(o.files["mid"])
                feats = features(read_piece(p)[0])
                pred.append(-1 if feats is None else int(clf.predict(feats[None])[0]))
            want = values.index(name)
            h = sum(q == want for q in pred)
            ph = sum(q == want for q in plain_pred)
            hits.append(h)
            plain_hits.append(ph)
            print(f"| {name} | {h}/{len(pred)} | {ph}/{len(plain_pred)} |", flush=True)
    n = args.per_composer * len(asked)
    print(f"| all | {sum(hits)}/{n} ({sum(hits) / n:.1%}) | {sum(plain_hits) / (len(plain_pred) * len(asked)):.1%} "
          f"(each asked composer against all {len(plain_pred)} plain pieces) |")
    print(f"chance {1 / len(values):.1%} ({len(values)} composers); generation took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
