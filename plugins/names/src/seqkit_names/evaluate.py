"""Evaluation: held-out NLL per character, classifier agreement and novelty of generated names."""

from __future__ import annotations

import math
import time
from pathlib import Path

from seqkit import SeqkitError

from .data import NamesData
from .train import MAX_NAME, TASK


def checkpoint_size(path: Path, meta: dict) -> int:
    size = Path(path).stat().st_size
    if meta.get("weights"):
        size += (Path(path).parent / meta["weights"]).stat().st_size
    return size


def heldout_nll(model, tok, pairs, batch_size: int = 512) -> float:
    """Mean negative log-likelihood (nats) per character of ``pairs`` (name, country), the end
    token included."""
    if not hasattr(model, "parameters"):  # an OnnxLM
        return _heldout_nll_numpy(model, tok, pairs, batch_size)
    import torch
    import torch.nn.functional as F

    from .train import lm_collate

    device = next(model.parameters()).device
    items = [(tok.encode(n, add_bos=True, add_eos=True), c) for n, c in pairs]
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for lo in range(0, len(items), batch_size):
            b = lm_collate(items[lo: lo + batch_size], tok.pad_id)
            logits, _ = model(b["input"].to(device), cond=b["cond"].to(device))
            t = b["target"].to(device)
            total += float(F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), t.reshape(-1),
                                           ignore_index=-100, reduction="sum"))
            count += int((t != -100).sum())
    return total / max(1, count)


def _heldout_nll_numpy(model, tok, pairs, batch_size: int) -> float:
    import numpy as np

    total, count = 0.0, 0
    for lo in range(0, len(pairs), batch_size):
        items = [(tok.encode(n, add_bos=True, add_eos=True), c) for n, c in pairs[lo: lo + batch_size]]
        length = max(len(ids) for ids, _ in items) - 1
        inp = np.full((len(items), length), tok.pad_id, dtype=np.int64)
        tgt = np.full((len(items), length), -1, dtype=np.int64)
        for i, (ids, _) in enumerate(items):
            inp[i, : len(ids) - 1] = ids[:-1]
            tgt[i, : len(ids) - 1] = ids[1:]
        logits, _ = model(inp, cond=np.array([c for _, c in items], dtype=np.int64))
        logits = logits.astype(np.float64)
        logp = logits - logits.max(-1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
        keep = tgt >= 0
        total -= float(np.take_along_axis(logp, np.maximum(tgt, 0)[..., None], -1)[..., 0][keep].sum())
        count += int(keep.sum())
    return total / max(1, count)


def load_classifier(spec: str | None, device: str = "cpu"):
    from seqkit import find_checkpoint, load_for_inference

    from .sample import cpu_or_device

    path = find_checkpoint(spec or "classifier", TASK)
    ck = load_for_inference(path, cpu_or_device(device), expect_task=TASK)
    if ck.extra.get("arch") != "classifier":
        raise SeqkitError(f"{path} is not a names classifier")
    return ck


def classify(model, tok, names: list[str], batch_size: int = 1024) -> list[int]:
    """The predicted country index of each name."""
    if not hasattr(model, "parameters"):  # the ONNX graph: rows of one length, no padding
        return _classify_numpy(model, tok, names, batch_size)
    import torch

    from seqkit import pad_sequences

    device = next(model.parameters()).device
    out: list[int] = []
    model.eval()
    with torch.no_grad():
        for lo in range(0, len(names), batch_size):
            ids = [tok.encode(n[:MAX_NAME]) or [tok.unk_id] for n in names[lo: lo + batch_size]]
            out += model(pad_sequences(ids, tok.pad_id).to(device)).argmax(-1).tolist()
    return out


def _classify_numpy(graph, tok, names: list[str], batch_size: int) -> list[int]:
    import numpy as np

    ids = [tok.encode(n[:MAX_NAME]) or [tok.unk_id] for n in names]
    by_len: dict[int, list[int]] = {}
    for i, row in enumerate(ids):
        by_len.setdefault(len(row), []).append(i)
    out = [0] * len(names)
    for rows in by_len.values():
        for lo in range(0, len(rows), batch_size):
            part = rows[lo: lo + batch_size]
            logits = graph.run(idx=np.array([ids[i] for i in part], dtype=np.int64))["logits"]
            for i, c in zip(part, logits.argmax(-1).tolist()):
                out[i] = c
    return out


def per_country_share(hits: list[bool], countries: list[int], n: int) -> list[float]:
    num, den = [0] * n, [0] * n
    for h, c in zip(hits, countries):
        num[c] += int(h)
        den[c] += 1
    return [num[i] / den[i] if den[i] else math.nan for i in range(n)]


def heldout(meta: dict, data: NamesData, limit: int | None = None) -> list:
    """The held-out (name, country) pairs of the split a checkpoint was trained with (the first
    ``limit`` of them: a quick check)."""
    split = meta.get("data") or {}
    _, val = data.split(split.get("held_out", 0.1), split.get("split_seed", 0))
    return val[:limit] if limit else val


def classifier_report(clf, data: NamesData, limit: int | None = None) -> dict:
    """The classifier's accuracy on the held-out names (overall and averaged over countries)."""
    val = heldout(clf.meta, data, limit)
    pred = classify(clf.model, clf.tokenizer, [n for n, _ in val])
    hits = [p == c for p, (_, c) in zip(pred, val)]
    per = per_country_share(hits, [c for _, c in val], len(data.countries))
    return {"accuracy": sum(hits) / len(hits), "macro_accuracy": _mean(per),
            "per_country": dict(zip(data.countries, per)), "names": len(val)}


def _mean(xs):
    xs = [x for x in xs if not math.isnan(x)]
    return sum(xs) / len(xs) if xs else math.nan


def evaluate_generator(gen, clf, data: NamesData, per_country: int = 100, temperature: float = 1.0,
                       seed: int = 0, limit: int | None = None, batch_size: int = 512) -> dict:
    """Held-out NLL/char, and for ``per_country`` names generated per country: the share the
    classifier gives to the requested country (averaged over countries) and the share that is new."""
    from .sample import make_rng, sample

    t0 = time.perf_counter()
    if gen.countries != data.countries:
        raise SeqkitError(f"{gen.path} was trained on countries {', '.join(gen.countries)}, "
                          f"not those of {data.source}")
    nll = heldout_nll(gen.model, gen.tokenizer, heldout(gen.meta, data, limit), batch_size)
    n = len(data.countries)
    conds = [c for c in range(n) for _ in range(per_country)]
    names = sample(gen, conds, [""] * len(conds), temperature, MAX_NAME, make_rng(seed, gen.backend))
    finished = [(s, c) for s, c in zip(names, conds) if s]
    pred = classify(clf.model, clf.tokenizer, [s for s, _ in finished]) if finished else []
    agree = [False] * len(conds)
    new = [False] * len(conds)
    known = data.known()
    j = 0
    for i, s in enumerate(names):
        if s:
            agree[i] = pred[j] == conds[i]
            new[i] = s.lower() not in known
            j += 1
    per_agree = per_country_share(agree, conds, n)
    per_new = per_country_share(new, conds, n)
    meta = gen.meta
    return {
        "model": gen.name, "arch": gen.arch, "backend": gen.backend, "model_type": meta.get("model_type"),
        "parameters": meta.get("parameters"), "size_bytes": checkpoint_size(gen.path, meta),
        "nll": nll, "agreement": _mean(per_agree), "new": sum(new) / len(new),
        "finished": len(finished) / len(conds), "per_country_agreement": dict(zip(data.countries, per_agree)),
        "per_country_new": dict(zip(data.countries, per_new)),
        "generated": len(conds), "temperature": temperature,
        "train_seconds": (meta.get("metrics") or {}).get("train_seconds"),
        "seconds": round(time.perf_counter() - t0, 2),
    }
