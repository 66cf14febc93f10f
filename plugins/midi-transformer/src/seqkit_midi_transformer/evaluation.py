"""What `seqkit music eval` measures: NLL per token (nats), NLL per second of music and
next-token accuracy over consecutive windows of every piece of a split (or, for models that carry
memories, each piece read from its start as one stream). Options, device, threads, JSON and
errors are seqkit's (the eval kit)."""

from __future__ import annotations

import math
import time
from pathlib import Path

from seqkit import EvalRecipe, Param, SeqkitError

MUSIC_EVAL = EvalRecipe(
    task="music",
    evaluate="seqkit_midi_transformer.evaluation:evaluate",
    params=[
        Param("dataset", "str", "auto", "Any registered music dataset, or auto: the model's own dataset and "
              "options when --data is what it was trained on, else maestro/midi-folder by the folder."),
        Param("dataset_option", "list", None, "A keyword of the dataset loader, key=value (repeatable)."),
        Param("split", "choice", "validation", "The split to score.", choices=("validation", "test", "train")),
        Param("seq_len", "int", None, "Window length (default: the training window).", min=8),
        Param("streams", "bool", None, "Models that carry memories: score each piece from its start as one "
              "stream, memories carried from window to window (default for models trained on streams), or "
              "each window alone.", flags=("--streams/--windows",)),
        Param("max_windows", "int", 0, "Evaluate only the first N windows (0 = all).", min=0),
    ],
    default_models=("music-transformer",),
    render="seqkit_midi_transformer.evaluation:render",
    description="NLL per token (nats), NLL per second of music and next-token accuracy over consecutive "
                "windows of every piece of a split (--data: default, what the model was trained on; "
                "--limit N: the first N files of the split; --batch-size: default 8).",
)


def _corpus(run, ckpt):
    """The split to score: ``--data`` (default: what the model was trained on), read with the
    model's own dataset loader and options when it is that data."""
    from .sources import open_corpus, pairs_to_dict

    o, recorded = run.options, ckpt.meta.get("data") or {}
    data, dataset = run.data, o["dataset"]
    if data is None:
        source = recorded.get("path") or recorded.get("source")
        if not source or not Path(source).exists():
            raise SeqkitError("give --data (the folder this model was trained on is not here)")
        data = Path(source)
    options = pairs_to_dict(o["dataset_option"], "--dataset-option")
    same_data = any(p and Path(p).resolve() == Path(data).resolve()
                    for p in (recorded.get("path"), recorded.get("source")))
    if same_data and recorded.get("dataset") not in (None, "auto", "folder"):
        if dataset == "auto":
            dataset = recorded["dataset"]
        if dataset == recorded["dataset"] and not options:
            options = dict(recorded.get("options") or {})  # the selection the model was trained on
    corpus, _, _ = open_corpus(data, dataset, ckpt.tokenizer, options, splits=(o["split"],), limit=run.limit or 0)
    return corpus, data


def _batches(net, tok, corpus, data, split, seq_len, streams, batch_size):
    """``(batches, windows in all, seq_len)``: each piece one stream (whole segments), or windows."""
    from .scoring import count_windows, stream_batches, window_batches
    from .windows import collate

    if streams:
        if not corpus.arrays(split):
            raise SeqkitError(f"{corpus.source or data} has no pieces in split {split!r}")
        seg = getattr(net, "memory_segment", 1)  # seqkit's memory protocol
        seq_len = -(-seq_len // seg) * seg  # whole segments, so that every window reads on
        return (stream_batches(corpus.arrays(split), seq_len, batch_size, tok.pad_id),
                count_windows(corpus.arrays(split), seq_len), seq_len)
    ds = corpus.dataset(split, seq_len, random_windows=False)
    return window_batches(ds, batch_size, collate), len(ds), seq_len


def evaluate(run) -> dict:
    import torch

    from .loading import load_music_model
    from .scoring import score

    o, split = run.options, run.options["split"]
    ckpt = load_music_model(run.models[0], run.device_option)
    net, tok = ckpt.model, ckpt.tokenizer
    corpus, data = _corpus(run, ckpt)
    seq_len = (o["seq_len"] or ckpt.extra.get("eval_seq_len") or ckpt.extra.get("seq_len")
               or getattr(net.config, "max_len", None) or 512)
    streams = bool(ckpt.extra.get("streams")) if o["streams"] is None else o["streams"]
    from seqkit import carries_memory

    if streams and not carries_memory(net):
        raise SeqkitError(f"--streams needs a model that carries memories; {type(net).__name__} does not")
    batches, n_all, seq_len = _batches(net, tok, corpus, data, split, seq_len, streams, run.batch_size or 8)
    n = min(n_all, o["max_windows"]) if o["max_windows"] else n_all
    dev = next(net.parameters()).device
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast("cpu", enabled=False)
    t0, done = time.perf_counter(), [0]

    def advance(k):
        done[0] += k
        run.progress(done[0], n, f"eval {split}")

    unk_id = getattr(tok, "unk_id", None)
    with amp:
        s = score(net, batches, n, unk_id, on_batch=advance, memory=streams)
    count = s["tokens"]
    nll = s["nll_sum"] / max(count, 1)
    report = {"model": str(ckpt.path), "split": split, "pieces": len(corpus.split(split)), "windows": s["windows"],
              "seq_len": seq_len, "streams": streams, "tokens": count, "nll": round(nll, 4),
              "perplexity": round(math.exp(nll), 3), "accuracy": round(s["correct"] / max(count, 1), 4),
              "seconds": round(time.perf_counter() - t0, 1)}
    report.update(per_second_of_music(corpus, split, tok, nll))
    if unk_id is not None:  # a learned vocabulary: how much of the split it could not name
        report["unknown"], report["unknown_fraction"] = s["unknown"], round(s["unknown"] / max(count, 1), 4)
    return report


def per_second_of_music(corpus, split: str, tok, nll: float) -> dict:
    """NLL per second of music (nats per token x tokens per second over the split's pieces), the
    measure that compares tokenizers fairly; {} when the split's seconds are not known."""
    arrays = corpus.arrays(split)
    targets = sum(len(a) - 1 for a in arrays)  # every token after <bos> is a target
    music = corpus.seconds(split)
    if not music and hasattr(tok, "token_seconds"):  # an archive made before seconds were recorded
        music = float(sum(tok.token_seconds(a)[-1] for a in arrays if len(a)))
    if not music or not targets:
        return {}
    rate = targets / music
    return {"music_seconds": round(music, 2), "tokens_per_second": round(rate, 2),
            "nll_per_second": round(nll * rate, 4)}


def render(r: dict) -> str:
    how = " (each piece one stream, memories carried)" if r["streams"] else ""
    lines = [f"{r['split']}: NLL {r['nll']:.4f} nats/token (perplexity {r['perplexity']:.2f}), "
             f"accuracy {r['accuracy']:.4f} over {r['tokens']:,} tokens in {r['windows']} windows of {r['seq_len']}{how}"]
    if "nll_per_second" in r:
        lines.append(f"  {r['nll_per_second']:.3f} nats per second of music ({r['tokens_per_second']:.1f} tokens "
                     f"per second over {r['music_seconds']:,.0f} s of music)")
    if "unknown_fraction" in r:
        lines.append(f"  {r['unknown']:,} of the target tokens ({r['unknown_fraction']:.1%}) are <unk>: "
                     f"not in the vocabulary learned from the train split")
    return "\n".join(lines)
