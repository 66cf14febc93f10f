"""What `seqkit names eval` measures (the measures themselves are below): per
generator, the held-out NLL per character, the agreement of a country classifier with the country
asked for, and the share of new names; one table, or everything with ``--json``. Options, threads,
JSON and errors are seqkit's (the eval kit).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from seqkit import EvalRecipe, Param, SeqkitError, temperature_param

from .data import NamesData
from .training import GENERATORS, MAX_NAME, TASK

NAMES_EVAL = EvalRecipe(
    task=TASK,
    evaluate="seqkit_names.evaluation:evaluate",
    params=[
        Param("classifier", "str", "classifier", "Country classifier name or path."),
        Param("per_country", "int", 100, "Names generated per country.", min=1, max=10000),
        temperature_param(),
    ],
    default_models="seqkit_names.evaluation:default_models",
    multiple=True,
    render="seqkit_names.evaluation:render",
    description="Held-out NLL per character, classifier agreement and share of new names, as one table. "
                f"[default models: those of {' '.join(GENERATORS)} that exist]",
    # small models, batches of short names: one thread; torch's default threads spin-wait on a busy
    # CPU (eval of two shipped models: 31 s instead of 4 s here while others trained)
    threads=1,
)


def default_models() -> list[str]:
    """The generators (user's or shipped) that exist."""
    from seqkit import find_checkpoint

    found = []
    for name in GENERATORS:
        try:
            find_checkpoint(name, TASK)
        except SeqkitError:
            continue
        found.append(name)
    return found


def evaluate(run) -> dict:
    from .data import load_folder, resolve_data
    from .generator import cpu_or_device, load_generator

    dev = cpu_or_device(run.device_option)  # auto: ONNX Runtime on the CPU where the graphs exist
    names_data = load_folder(resolve_data(run.data))
    clf = load_classifier(run.options["classifier"], dev)
    if list(clf.extra.get("countries") or []) != names_data.countries:
        raise SeqkitError(f"{clf.path} was trained on other countries than those of {names_data.source}")
    report = {"classifier": {"model": clf.path.stem, **classifier_report(clf, names_data, run.limit)},
              "data": names_data.source, "models": []}
    for i, spec in enumerate(run.models):
        run.progress(i, len(run.models), spec)
        report["models"].append(evaluate_generator(
            load_generator(spec, dev), clf, names_data, run.options["per_country"], run.options["temperature"],
            run.seed, limit=run.limit, batch_size=run.batch_size or 512))
    run.progress(len(run.models), len(run.models))
    return report


def render(report: dict):
    from rich.table import Table

    c, models = report["classifier"], report["models"]
    per_country = models[0]["generated"] // len(c["per_country"])
    table = Table(title=f"held-out NLL; {per_country} names per country at T={models[0]['temperature']}",
                  caption=f"classifier {c['model']}: {c['accuracy']:.1%} of {c['names']} held-out names "
                          f"({c['macro_accuracy']:.1%} averaged over countries)")
    for col in ("model", "params", "MB", "NLL/char", "agree", "new", "train s"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in models:
        secs = r.get("train_seconds")
        label = r["model"] if r["model"] == r["arch"] else f"{r['model']} ({r['arch']})"
        table.add_row(label, f"{r['parameters']:,}", f"{r['size_bytes'] / 1e6:.2f}",
                      f"{r['nll']:.3f}", f"{r['agreement']:.1%}", f"{r['new']:.1%}",
                      f"{secs:.0f}" if secs else "?")
    return table


# ---------------------------------------------------------------- the measures


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

    from .training import lm_collate

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

    from .generator import cpu_or_device

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
    from .generator import make_rng, sample

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
