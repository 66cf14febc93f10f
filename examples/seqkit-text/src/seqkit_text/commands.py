"""`seqkit text train | generate | eval`. torch is imported inside the commands only."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from seqkit.options import seed_option

app = typer.Typer(help="Character-level language models of any UTF-8 text (example plugin).",
                  no_args_is_help=True)

ARCHS = ("transformer", "rnn")
TOKENIZERS = ("char", "bytes")


def _tokenizer(kind: str, text: str):
    from seqkit import CharTokenizer, SeqkitError, get_tokenizer_type

    if kind == "char":
        return CharTokenizer.build([text])
    if kind == "bytes":
        return get_tokenizer_type("bytes").resolve()()
    raise SeqkitError(f"unknown --tokenizer {kind!r}; use {' or '.join(TOKENIZERS)}")


def _model_config(arch: str, vocab_size: int, context: int, layers: int, width: int, heads: int,
                  dropout: float):
    from seqkit import SeqkitError, get_model_type

    if arch == "transformer":
        if width % heads:
            raise SeqkitError(f"--width {width} must be a multiple of --heads {heads}")
        values = dict(vocab_size=vocab_size, n_layer=layers, n_head=heads, n_embd=width,
                      max_len=context, dropout=dropout)
        return "transformer-lm", get_model_type("transformer-lm").make_config(values)
    if arch == "rnn":
        values = dict(vocab_size=vocab_size, cell="lstm", n_embd=min(width, 64), hidden=width,
                      n_layers=layers, dropout=dropout)
        return "rnn-lm", get_model_type("rnn-lm").make_config(values)
    raise SeqkitError(f"unknown --arch {arch!r}; use {' or '.join(ARCHS)}")


@app.command()
def train(
    corpus: Path = typer.Argument(..., help="UTF-8 text file to learn."),
    val: Path | None = typer.Option(None, "--val", help="Validation text file "
                                       "(default: the last 10% of CORPUS)."),
    name: str = typer.Option("default", "--name", help="Save the best model under this name "
                             "(seqkit text generate --model NAME)."),
    out: Path = typer.Option(Path("runs/text"), "--out", "-o", help="Run folder: checkpoints, "
                             "metrics.jsonl, loss.png."),
    arch: str = typer.Option("transformer", "--arch", help="transformer or rnn (LSTM)."),
    tokenizer: str = typer.Option("char", "--tokenizer", help="char (vocabulary of the corpus) "
                                  "or bytes (UTF-8 bytes, nothing unknown)."),
    context: int = typer.Option(128, "--context", min=2, help="Tokens per training window."),
    layers: int = typer.Option(4, "--layers", min=1),
    width: int = typer.Option(128, "--width", min=8, help="Embedding size (transformer) or "
                              "hidden size (rnn)."),
    heads: int = typer.Option(4, "--heads", min=1, help="Attention heads (transformer)."),
    dropout: float = typer.Option(0.0, "--dropout", min=0.0, max=0.9),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Optimizer steps (default 1000)."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Passes over the corpus."),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
    lr: float = typer.Option(1e-3, "--lr"),
    warmup: int = typer.Option(50, "--warmup", min=0, help="Linear warm-up steps; then cosine decay."),
    eval_every: int = typer.Option(0, "--eval-every", min=0, help="Steps between evaluations "
                                   "(0: about ten per run)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    seed: Annotated[int, seed_option()] = 0,
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
):
    """Train a character-level model on CORPUS and save the best one as NAME."""
    from seqkit import SeqkitError, TrainConfig, Trainer, export_checkpoint, info, user_checkpoint_dir

    from .data import read_text, windows

    if not name.strip() or Path(name).name != name or name.startswith("."):
        raise SeqkitError(f"--name takes a plain name such as my-model, not {name!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise SeqkitError(f"--lr must be a positive number, not {lr}")
    if out.exists() and not out.is_dir():
        raise SeqkitError(f"--out {out} is a file, not a folder")
    text = read_text(corpus)
    if val is not None:
        train_text, val_text = text, read_text(val)
    else:
        cut = int(len(text) * 0.9)
        train_text, val_text = text[:cut], text[cut:]
    tok = _tokenizer(tokenizer, train_text)
    train_set = windows(train_text, tok, context, stride=max(1, context // 2), what=f"corpus {corpus}")
    val_set = None
    if len(tok.encode(val_text)) > context:
        val_set = windows(val_text, tok, context, what="validation text")
    else:
        info(f"validation text shorter than one window of {context + 1} tokens: training without it")
    model_type, config = _model_config(arch, tok.vocab_size, context, layers, width, heads, dropout)
    from seqkit import get_model_type

    model = get_model_type(model_type).build(config)
    if not steps and not epochs:
        steps = 1000
    trainer = Trainer(
        model,
        TrainConfig(steps=steps, epochs=epochs, batch_size=batch_size, lr=lr, warmup_steps=warmup,
                    schedule="cosine", eval_every=eval_every, device=device, seed=seed),
        train_set, val_set, out=out,
        checkpoint=dict(model_type=model_type, config=config, tokenizer=tok, task="text",
                        data={"train": str(corpus), "val": str(val) if val else "last 10% of train",
                              "train_tokens": len(train_set.ids)},
                        extra={"context": context, "arch": arch}),
    )
    result = trainer.fit(resume=resume)
    if result["interrupted"] and not result["history"]:
        # stopped before the first evaluation: keep whatever model NAME was (e.g. a good "default")
        info(f"interrupted at step {result['steps']}, before the first evaluation: not saved as "
             f"{name!r}; continue with --resume --out {out}")
        if as_json:
            typer.echo(json.dumps({"interrupted": True, "steps": result["steps"], "run": str(out)}))
        return
    loss = result["best_val_loss"]
    metrics = {"val_loss": loss, "val_bits_per_token": loss / math.log(2) if loss else None,
               "steps": result["steps"]}
    saved = export_checkpoint(result["best_path"], user_checkpoint_dir("text") / f"{name}.json",
                              metrics={k: v for k, v in metrics.items() if v is not None})
    summary = {**metrics, "parameters": sum(p.numel() for p in model.parameters()),
               "seconds": round(result["seconds"], 1), "checkpoint": str(saved), "run": str(out)}
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        where = f"val loss {loss:.4f} ({metrics['val_bits_per_token']:.3f} bits/token)" if loss else "no validation"
        info(f"{where} after {result['steps']} steps in {summary['seconds']} s; saved as {name!r} "
             f"({saved})")


@app.command()
def generate(
    primer: str = typer.Option("", "--primer", "-p", help="Text to continue (default: a new line)."),
    model: str = typer.Option("default", "--model", "-m", help="Model name or checkpoint path."),
    length: int = typer.Option(200, "--length", "-l", min=1, help="Tokens to generate."),
    count: int = typer.Option(1, "--count", "-n", min=1, help="How many samples."),
    temperature: float = typer.Option(0.8, "--temperature", "-t", min=0.0, help="0 = greedy."),
    top_k: int = typer.Option(0, "--top-k", min=0, help="Sample from the k likeliest (0 = all)."),
    top_p: float = typer.Option(1.0, "--top-p", min=0.0, max=1.0, help="Nucleus sampling mass, above 0 (1 = off)."),
    seed: Annotated[int | None, seed_option("Make the samples reproducible.")] = None,
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    as_json: bool = typer.Option(False, "--json", help="Print the samples as JSON on stdout."),
):
    """Continue PRIMER with a trained model; prints the primer and what follows."""
    import torch

    from seqkit import SeqkitError, info
    from seqkit import generate as sample

    if top_p <= 0:  # a nucleus of mass 0 holds no token at all
        raise SeqkitError("--top-p must be above 0 (1 = off)")
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
        raise SeqkitError("no text model yet: train one with `seqkit text train corpus.txt`")
    return load_checkpoint(find_checkpoint(model, "text"), device=pick_device(device),
                           expect_task="text")
