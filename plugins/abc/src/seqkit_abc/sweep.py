"""The hyperparameter study: a grid (or one-at-a-time variations) of training runs, a CSV, a
markdown table and one train/val curve plot per varied parameter.

Each run lives in ``out/<label>/`` and writes ``result.json`` when done, so an interrupted sweep
picks up where it stopped.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import asdict, replace
from pathlib import Path

from seqkit import SeqkitError, atomic_write_bytes

from .training import Corpus, Settings, train

PARAMS = ("model", "hidden", "layers", "dropout", "optimizer", "lr", "batch_size", "seq_len")
COLUMNS = list(PARAMS) + ["best_val_loss", "best_val_acc", "final_train_loss", "epochs",
                          "sec_per_epoch", "parameters", "stopped_early"]


def parse_list(text: str, kind, name: str) -> list:
    values = [v.strip() for v in str(text).split(",") if v.strip()]
    if not values:
        raise SeqkitError(f"--{name.replace('_', '-')} needs at least one value")
    try:
        return [kind(v) for v in values]
    except ValueError:
        raise SeqkitError(f"--{name.replace('_', '-')}: cannot read {text!r} as {kind.__name__} values") from None


def plan(base: Settings, values: dict[str, list], mode: str = "grid") -> list[Settings]:
    """The runs: every combination (``grid``), or the base (first values) plus each other value
    of one parameter at a time (``one-at-a-time``)."""
    if mode not in ("grid", "one-at-a-time"):
        raise SeqkitError(f"unknown --mode {mode!r}: use grid or one-at-a-time")
    first = replace(base, **{k: v[0] for k, v in values.items()})
    if mode == "grid":
        keys = list(values)
        runs = [replace(base, **dict(zip(keys, combo))) for combo in itertools.product(*values.values())]
    else:
        runs = [first]
        for k, vs in values.items():
            runs += [replace(first, **{k: v}) for v in vs[1:]]
    for r in runs:
        r.check()
    return runs


def label(s: Settings) -> str:
    return (f"{s.model}-h{s.hidden}-l{s.layers}-d{s.dropout:g}-{s.optimizer}-lr{s.lr:g}"
            f"-b{s.batch_size}-s{s.seq_len}")


def run_sweep(runs: list[Settings], corpus: Corpus, out: Path, report=print,
              progress: bool = True) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, s in enumerate(runs, 1):
        folder = out / label(s)
        done = folder / "result.json"
        if done.exists():
            report(f"[{n}/{len(runs)}] {label(s)}: done before, reusing {done}")
            rows.append(json.loads(done.read_text()))
            continue
        report(f"[{n}/{len(runs)}] {label(s)}")
        try:
            result = train(s, corpus, folder, resume=(folder / "last.json").exists(), progress=progress)
        except SeqkitError as exc:  # e.g. a diverging run: record it, go on with the others
            report(f"    failed: {exc}")
            rows.append({**{k: getattr(s, k) for k in PARAMS}, "best_val_loss": float("nan"),
                         "best_val_acc": float("nan"), "final_train_loss": None, "epochs": 0,
                         "sec_per_epoch": float("nan"), "parameters": 0, "stopped_early": False,
                         "history": [], "error": str(exc)})
            continue
        if result["interrupted"]:  # Ctrl-C: stop the sweep; this run resumes when it is run again
            report(f"    interrupted at step {result['steps']}: run the same sweep again to continue; "
                   f"the table below has the {len(rows)} finished run(s)")
            break
        hist = result["history"]
        epochs = result["steps"] / result["batches_per_epoch"]  # fractional with --steps
        row = {**{k: getattr(s, k) for k in PARAMS},
               "best_val_loss": result["best_val_loss"], "best_val_acc": result["best_val_acc"],
               "final_train_loss": hist[-1].get("train_loss") if hist else None,
               "epochs": round(epochs, 2) if epochs % 1 else int(epochs),
               "sec_per_epoch": result["seconds"] / epochs if epochs else float("nan"),
               "parameters": result["parameters"], "stopped_early": result["stopped_early"],
               "history": hist, "settings": asdict(s)}
        atomic_write_bytes(done, json.dumps(row, indent=1).encode())  # marks the run as finished
        report(f"    best val {row['best_val_loss']:.4f} acc {row['best_val_acc']:.3f}, "
               f"{row['sec_per_epoch']:.1f} s/epoch")
        rows.append(row)
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{r[k]:.4f}" if isinstance(r[k], float) else r[k]) for k in COLUMNS})
    atomic_write_bytes(path, buf.getvalue().encode())


def markdown_table(rows: list[dict], varied: list[str]) -> str:
    cols = varied + ["best val loss", "val acc", "epochs", "s/epoch", "params"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in sorted(rows, key=lambda r: (r["best_val_loss"] != r["best_val_loss"], r["best_val_loss"])):
        cells = [str(r[k]) for k in varied] + [f"{r['best_val_loss']:.4f}", f"{r['best_val_acc']:.3f}",
                                               str(r["epochs"]), f"{r['sec_per_epoch']:.1f}",
                                               f"{r['parameters']:,}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_param(rows: list[dict], param: str, path: Path, base: dict | None = None) -> Path:
    """Train (dashed) and validation (solid) loss per epoch, one colour per value of ``param``.

    Only runs whose other parameters equal ``base`` are drawn (the base run and its variations of
    ``param``), so each plot isolates one parameter."""
    base = base or {}
    rows = [r for r in rows if all(r[k] == v for k, v in base.items() if k != param)]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = sorted({r[param] for r in rows}, key=lambda v: (str(type(v)), v))
    colors = matplotlib.colormaps["viridis"]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for j, v in enumerate(values):
        c = colors(j / max(1, len(values) - 1) * 0.9)
        for k, r in enumerate(x for x in rows if x[param] == v):
            hist = r["history"]
            ep = [h.get("epoch") or i + 1 for i, h in enumerate(hist)]
            ax.plot(ep, [h.get("val_loss") for h in hist], color=c, marker="o", markersize=3,
                    label=f"{param}={v}" if k == 0 else None)
            ax.plot(ep, [h.get("train_loss") for h in hist], color=c, linestyle="--", alpha=0.7)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats/char): val solid, train dashed")
    ax.set_title(f"sweep over {param}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    from seqkit import save_figure

    return save_figure(fig, path)


def write_outputs(rows: list[dict], values: dict[str, list], out: Path) -> dict:
    varied = [k for k in PARAMS if len(values.get(k, [])) > 1]
    write_csv(rows, out / "results.csv")
    table = markdown_table(rows, varied or ["model"])
    atomic_write_bytes(out / "results.md", table.encode())
    base = {k: values[k][0] for k in varied}
    plots = [str(plot_param(rows, p, out / f"sweep_{p}.png", base)) for p in varied]
    return {"csv": str(out / "results.csv"), "table": str(out / "results.md"), "plots": plots,
            "markdown": table}
