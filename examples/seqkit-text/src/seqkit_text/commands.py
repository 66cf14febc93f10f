"""`seqkit text train | generate | eval`. torch is imported inside the commands only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from seqkit import train_command

from .training import TEXT_TRAINING

app = typer.Typer(help="Character-level language models of any UTF-8 text (example plugin).",
                  no_args_is_help=True)

ARCHS = ("transformer", "rnn")
TOKENIZERS = ("char", "bytes")


app.command("train")(train_command(TEXT_TRAINING))


@app.command()
def generate(
    primer: str = typer.Option("", "--primer", "-p", help="Text to continue (default: a new line)."),
    model: str = typer.Option("default", "--model", "-m", help="Model name or checkpoint path."),
    length: int = typer.Option(200, "--length", "-l", min=1, help="Tokens to generate."),
    count: int = typer.Option(1, "--count", "-n", min=1, help="How many samples."),
    temperature: float = typer.Option(0.8, "--temperature", "-t", min=0.0, help="0 = greedy."),
    top_k: int = typer.Option(0, "--top-k", min=0, help="Sample from the k likeliest (0 = all)."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling mass, 0 < P <= 1 (1 = off)."),
    seed: int | None = typer.Option(None, "--seed", help="Make the samples reproducible."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    as_json: bool = typer.Option(False, "--json", help="Print the samples as JSON on stdout."),
):
    """Continue PRIMER with a trained model; prints the primer and what follows."""
    import torch

    from seqkit import SeqkitError, info
    from seqkit import generate as sample

    if not 0 < top_p <= 1:  # a nucleus of mass 0 holds no token at all (also rejects nan)
        raise SeqkitError(f"--top-p must be above 0 and at most 1 (1 = off), not {top_p}")
    ckpt = _load(model, device)
    tok = ckpt.tokenizer
    start = primer or "\n"
    missing = tok.unknown(start) if hasattr(tok, "unknown") else []
    if missing:
        info(f"not in the model's vocabulary, read as <unk>: {' '.join(map(repr, missing))}")
    ids = tok.encode(start)
    dev = next(ckpt.model.parameters()).device
    prompt = torch.tensor([ids] * count, dtype=torch.long, device=dev)
    generator = torch.Generator(device=dev).manual_seed(seed) if seed is not None else None
    # training windows are plain text: <pad>, <bos>, <eos>, <unk> never follow a character there
    specials = [i for i in (getattr(tok, n, None) for n in ("pad_id", "bos_id", "eos_id", "unk_id"))
                if i is not None]
    out = sample(ckpt.model, prompt, length, temperature=temperature, top_k=top_k, top_p=top_p,
                 suppress_ids=specials, generator=generator)
    texts = [primer + tok.decode(row) for row in out.tolist()]
    if as_json:
        typer.echo(json.dumps([{"primer": primer, "text": t} for t in texts], ensure_ascii=False))
        return
    for i, t in enumerate(texts):
        if i:
            typer.echo("\n---")
        typer.echo(t)


@app.command("eval")
def evaluate(
    text_file: Path = typer.Argument(..., help="UTF-8 text to score (e.g. a held-out file)."),
    model: str = typer.Option("default", "--model", "-m", help="Model name or checkpoint path."),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON on stdout."),
):
    """Score TEXT_FILE: cross-entropy per token (nats and bits) over non-overlapping windows."""
    import torch

    from seqkit import lm_loss

    from .data import read_text, windows

    ckpt = _load(model, device)
    tok = ckpt.tokenizer
    context = int(ckpt.extra.get("context") or 128)
    text = read_text(text_file)
    ds = windows(text, tok, context, what=f"file {text_file}")
    dev = next(ckpt.model.parameters()).device
    loss_sum = n_tokens = n_correct = 0.0
    with torch.no_grad():
        for start in range(0, len(ds), batch_size):
            items = [ds[i] for i in range(start, min(start + batch_size, len(ds)))]
            batch = {k: torch.stack([it[k] for it in items]).to(dev) for k in ("input", "target")}
            loss, n, correct = lm_loss(ckpt.model, batch)
            loss_sum += float(loss) * int(n)
            n_tokens += int(n)
            n_correct += int(correct)
    loss = loss_sum / n_tokens
    unknown = tok.unknown(text) if hasattr(tok, "unknown") else []
    scores = {"model": str(ckpt.path), "file": str(text_file), "tokens": int(n_tokens),
              "loss": loss, "bits_per_token": loss / math.log(2), "accuracy": n_correct / n_tokens,
              "tokenizer": tok.type, "unknown_symbols": len(unknown)}
    if as_json:
        typer.echo(json.dumps(scores))
        return
    unit = "char" if tok.type == "char" else "byte" if tok.type == "bytes" else "token"
    typer.echo(f"{text_file}: {scores['bits_per_token']:.3f} bits/{unit} "
               f"(loss {loss:.4f} nats, next-{unit} accuracy {scores['accuracy']:.1%}) "
               f"over {int(n_tokens)} {unit}s")


def _load(model: str, device: str):
    from seqkit import SeqkitError, find_checkpoint, list_checkpoints, load_checkpoint, pick_device

    if model == "default" and not list_checkpoints("text"):
        raise SeqkitError("no text model yet: train one with `seqkit text train --data corpus.txt`")
    return load_checkpoint(find_checkpoint(model, "text"), device=pick_device(device),
                           expect_task="text")
