"""What `seqkit abc eval` measures: nats per character and next-character accuracy on held-out
tunes, and the share of generated tunes (per temperature) that convert to MIDI. Options, device,
threads, JSON and errors are seqkit's (the eval kit).

Plain Python at import (no torch): ``evaluate`` imports what it needs.
"""

from __future__ import annotations

import math
from pathlib import Path

from seqkit import EvalRecipe, Param, SeqkitError

from .generator import DEFAULT_MODEL

ABC_EVAL = EvalRecipe(
    task="abc",
    evaluate="seqkit_abc.evaluation:evaluate",
    params=[
        Param("format", "choice", "auto", "Tune file format: auto, course (<start>/<end> blocks) or abc (X: tunes).",
              choices=("auto", "course", "abc")),
        Param("count", "int", 30, "Tunes to generate per temperature (0 = skip).", min=0, max=1000,
              flags=("--count", "-n")),
        Param("temperatures", "str", "0.5,1,2", "Comma-separated sampling temperatures."),
        Param("max_chars", "int", 2000, "Character limit per generated tune.", min=1, max=100_000),
        Param("samples", "str", None, "Also write the generated tunes to DIR/T<temp>.abc."),
        Param("engine", "choice", "auto", "ABC -> MIDI converter: auto (music21), music21 or abc2midi.",
              choices=("auto", "music21", "abc2midi")),
        Param("unconstrained", "bool", False, "Sample without the ABC format mask (the model's raw output)."),
    ],
    default_models=(DEFAULT_MODEL,),
    render="seqkit_abc.evaluation:render",
    description="Val loss (nats/char) and accuracy on held-out tunes (default: the course val.txt), "
                "and, over the tunes generated per temperature, the validity report: known header, bars that "
                "add up, <end> within the cap, converts to MIDI (with and without repairs).",
)

_REPAIRS = ("default-L", "repeats-once", "shared-meter")


def _temperatures(text: str) -> list[float]:
    from .sweep import parse_list

    temps = parse_list(text, float, "temperatures")
    if not all(0 <= t < float("inf") for t in temps):  # also rejects nan
        raise SeqkitError("--temperatures must be finite numbers >= 0")
    return temps


def evaluate(run) -> dict:
    import time

    from seqkit import check_writable, info

    from .data import load_tunes, shared_data
    from .loading import load_abc_model
    from .midi import pick_engine
    from .training import evaluate_loss

    opts = run.options
    pick_engine(opts["engine"])
    temps = _temperatures(opts["temperatures"])
    samples = Path(opts["samples"]) if opts["samples"] else None
    if samples is not None:
        check_writable(samples, "--samples", folder=True)
    data = run.data or shared_data() / "abc-pa3" / "val.txt"
    if run.data is None and not data.exists():
        raise SeqkitError(f"give --data (no course val.txt at {data})")
    ckpt, dev = load_abc_model(run.models[0], run.device_option, backend="torch")  # the loss: torch
    tunes = load_tunes(data, opts["format"])[: run.limit]
    t0 = time.time()
    loss = evaluate_loss(ckpt.model, ckpt.tokenizer, tunes, dev, batch_size=run.batch_size or 32)
    report = {"model": str(ckpt.path), "data": str(data), "tunes": len(tunes),
              **{f"val_{k}" if k in ("loss", "acc") else k: v for k, v in loss.items()}}
    report["val_bits_per_char"] = report["val_loss"] / math.log(2)
    report["seconds_loss"] = round(time.time() - t0, 1)
    if report["unknown_chars"]:
        info(f"{report['unknown_chars']:,} characters of {data} are not in the model's vocabulary "
             f"(read as <unk>): the loss is not comparable with other data")
    report["generation"] = [_generated(ckpt, dev, t, opts, run, samples) for t in (temps if opts["count"] else [])]
    report.update(seed=run.seed, engine=opts["engine"])
    return report


def _generated(ckpt, dev, temp: float, opts: dict, run, samples: Path | None) -> dict:
    """One temperature's row: ``count`` tunes sampled from the seed, converted to MIDI."""
    from seqkit import atomic_write_bytes

    from .generator import number_tune, sample_tunes
    from .loading import torch_generator
    from .midi import abc_to_midi

    count = opts["count"]
    gen = sample_tunes(ckpt.model, ckpt.tokenizer, ckpt.extra.get("primer", "<start>\nX:"), count,
                       temp, opts["max_chars"], torch_generator(run.seed, dev), dev,
                       constrain=not opts["unconstrained"])
    convs = [abc_to_midi(s.abc, opts["engine"]) for s in gen]
    checks = validity(gen, convs)
    errors: dict[str, int] = {}
    for c in convs:
        if not c.ok:
            key = c.error.split(":")[0]
            errors[key] = errors.get(key, 0) + 1
    if samples is not None:
        text = "\n\n".join(number_tune(s.abc, i) for i, s in enumerate(gen, 1)) + "\n"
        atomic_write_bytes(samples / f"T{temp:g}.abc", text.encode())
    valid = sum(c.ok for c in convs)
    return {"temperature": temp, "tunes": count, "valid": valid, "valid_share": valid / count,
            "strict": sum(c.strict for c in convs),
            "repairs": {f: sum(f in c.fixes for c in convs if c.ok) for f in _REPAIRS},
            "ended": sum(s.ended for s in gen),
            "mean_chars": sum(len(s.abc) for s in gen) / count, "errors": errors,
            "format_mask": not opts["unconstrained"], "validity": checks}


def validity(gen, convs) -> dict:
    """The validity report over generated tunes (``validity``'s checks): counts and shares."""
    from .validity import bar_check, header_ok

    n = len(gen)
    counts = {
        "valid_header": sum(header_ok(s.abc) for s in gen),
        "bars_add_up": sum(bar_check(s.abc)[0] for s in gen),
        "ended_within_cap": sum(s.ended and not s.capped for s in gen),
        "ended_at_cap": sum(s.ended and s.capped for s in gen),
        "converts": sum(c.ok for c in convs),
        "converts_without_repairs": sum(c.strict for c in convs),
    }
    return {**counts, **{f"{k}_share": v / n for k, v in counts.items()}} if n else counts


def render(report: dict):
    from rich.console import Group
    from rich.table import Table

    head = (f"{Path(report['model']).name}: val loss [bold]{report['val_loss']:.4f}[/bold] nats/char "
            f"({report['val_bits_per_char']:.3f} bits), accuracy {report['val_acc']:.3f} "
            f"on {report['tunes']} tunes / {report['chars']:,} chars of {report['data']}")
    rows = report["generation"]
    if not rows:
        return Group(head)
    mask = "format mask on" if rows[0].get("format_mask", True) else "no format mask"
    table = Table(title=f"generated tunes ({mask}; MIDI by {report['engine']}; seed {report['seed']})")
    for col in ("T", "known header", "bars add up", "<end> within cap", "ended at cap", "converts",
                "converts without repairs", "mean chars", "failures"):
        table.add_column(col)
    for r in rows:
        v, n = r["validity"], r["tunes"]

        def cell(key, v=v, n=n):
            return f"{v[key]}/{n} ({v[key] / n:.0%})"

        table.add_row(f"{r['temperature']:g}", cell("valid_header"), cell("bars_add_up"), cell("ended_within_cap"),
                      f"{v['ended_at_cap']}/{n}", cell("converts"), cell("converts_without_repairs"),
                      f"{r['mean_chars']:.0f}", ", ".join(f"{k} x{v}" for k, v in r["errors"].items()))
    return Group(head, table)
