"""`seqkit text train | generate | eval`. torch is imported inside the commands only."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from seqkit import eval_command, train_command
from seqkit.options import seed_option

from .evaluation import TEXT_EVAL
from .training import TEXT_TRAINING

app = typer.Typer(help="Character-level language models of any UTF-8 text (example plugin).",
                  no_args_is_help=True)

ARCHS = ("transformer", "rnn")
TOKENIZERS = ("char", "bytes")


app.command("train")(train_command(TEXT_TRAINING))
app.command("eval")(eval_command(TEXT_EVAL))


@app.command()
def generate(
    primer: str = typer.Option("", "--primer", "-p", help="Text to continue (default: a new line)."),
    model: str = typer.Option("default", "--model", "-m", help="Model name or checkpoint path."),
    length: int = typer.Option(200, "--length", "-l", min=1, help="Tokens to generate."),
    count: int = typer.Option(1, "--count", "-n", min=1, help="How many samples."),
    temperature: float = typer.Option(0.8, "--temperature", "-t", min=0.0, help="0 = greedy."),
    top_k: int = typer.Option(0, "--top-k", min=0, help="Sample from the k likeliest (0 = all)."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling mass, 0 < P <= 1 (1 = off)."),
    seed: Annotated[int | None, seed_option("Make the samples reproducible.")] = None,
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


def _load(model: str, device: str):
    from seqkit import SeqkitError, find_checkpoint, list_checkpoints, load_checkpoint, pick_device

    if model == "default" and not list_checkpoints("text"):
        raise SeqkitError("no text model yet: train one with `seqkit text train --data corpus.txt`")
    return load_checkpoint(find_checkpoint(model, "text"), device=pick_device(device),
                           expect_task="text")
