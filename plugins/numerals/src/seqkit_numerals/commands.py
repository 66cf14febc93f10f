"""``seqkit num2words`` and the ``seqkit numerals`` group (train, eval, data).

Typer only at module level: torch and num2words are imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqkit import SeqkitError, check_writable, generator_command, info
from seqkit.options import DeviceOption, JsonOption, SeedOption, ThreadsOption, renamed, set_threads

from .generator import NUM2WORDS, show_words

MAX_EVAL_COUNT = 100_000

numerals_app = typer.Typer(help="Numbers as words: build the num2words data, train and evaluate models.",
                           no_args_is_help=True)

MaxOption = Annotated[str, typer.Option("--max", help="Numbers lie below this bound (1e9, 1e15, 1000000 ...).")]
SizeOption = Annotated[int, typer.Option("--size", help="How many distinct numbers (split 90/5/5 into train/val/test).")]
LangOption = Annotated[str, typer.Option("--lang", help="Any language num2words supports: en, fr, de, es ...")]
SamplingOption = Annotated[str, typer.Option(
    "--sampling", help="digits: every digit count equally often, zero groups common; uniform: uniform over the range.")]
NegOption = Annotated[float, typer.Option("--negatives", help="Share of negative numbers (0 = none).")]


def _spec(max_: str, size: int, lang: str, sampling: str, negatives: float, seed: int | None):
    from .data import DataSpec
    from .numbers import check_lang, parse_bound

    return DataSpec(lang=check_lang(lang), max=parse_bound(max_), size=size, sampling=sampling,
                    negatives=negatives, seed=seed or 0)


# ---------------------------------------------------------------- seqkit num2words


num2words_command = generator_command(NUM2WORDS, show=show_words)


# ---------------------------------------------------------------- seqkit numerals data


@numerals_app.command("data")
def data_command(
    max_: MaxOption = "1e9",
    size: SizeOption = 100_000,
    lang: LangOption = "en",
    sampling: SamplingOption = "digits",
    negatives: NegOption = 0.05,
    seed: SeedOption = None,
    show: Annotated[int, typer.Option("--show", min=0, help="How many training pairs to print.")] = 5,
    show_old: Annotated[int | None, typer.Option("-n", min=0, hidden=True)] = None,  # until seqkit 0.5
    as_json: JsonOption = False,
):
    """Build (or read from the cache) the num2words dataset and describe it."""
    if show_old is not None:  # -n means --count everywhere else
        info("Warning: `numerals data -n` is deprecated; use --show")
        show = show_old
    from .data import build_pairs, cache_path, split_pairs, target_tokenizer
    from .numbers import describe_range

    spec = _spec(max_, size, lang, sampling, negatives, seed)
    pairs = build_pairs(spec)
    splits = split_pairs(pairs, spec)
    tok = target_tokenizer(w for _, w in splits["train"])
    unseen = sorted({w for part in ("val", "test") for _, t in splits[part] for w in tok.unknown(t)})
    summary = {
        "spec": spec.to_dict(), "cache": str(cache_path(spec)),
        "range": describe_range(spec.low, spec.max),
        "splits": {k: len(v) for k, v in splits.items()},
        "target_vocab": tok.vocab_size, "words_unseen_in_train": unseen,
        "examples": [{"number": n, "words": w} for n, w in splits["train"][:show]],
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    typer.echo(f"num2words {spec.lang}, {describe_range(spec.low, spec.max)}, {spec.sampling} sampling, "
               f"{spec.negatives:.0%} negative, seed {spec.seed}")
    typer.echo(f"cache: {summary['cache']}")
    typer.echo("splits: " + ", ".join(f"{k} {v:,}" for k, v in summary["splits"].items()))
    typer.echo(f"target vocabulary: {tok.vocab_size} tokens"
               + (f"; words in val/test never seen in train: {', '.join(unseen)}" if unseen else ""))
    for n, w in splits["train"][:show]:
        typer.echo(f"  {n}\t{w}")


# ---------------------------------------------------------------- seqkit numerals train


@numerals_app.command("train")
def train_command(
    arch: Annotated[str | None, typer.Option("--arch", help="gru or transformer. [default: gru]")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", hidden=True)] = None,  # old --arch, until 0.5
    max_: MaxOption = "1e9",
    size: SizeOption = 100_000,
    lang: LangOption = "en",
    sampling: SamplingOption = "digits",
    negatives: NegOption = 0.05,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Passes over the training set.")] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Optimizer steps (default: 5 epochs).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Pairs per step.")] = 128,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate (default 2e-3 gru, 1e-3 transformer).")] = None,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Linear warmup steps.")] = 200,
    schedule: Annotated[str, typer.Option("--schedule", help="constant, cosine or linear.")] = "cosine",
    eval_every: Annotated[int, typer.Option("--eval-every", min=0, help="Steps between validations (0 = each epoch).")] = 0,
    n_embd: Annotated[int | None, typer.Option("--n-embd", min=1, help="Embedding / model width.")] = None,
    hidden: Annotated[int | None, typer.Option("--hidden", min=1, help="GRU hidden size.")] = None,
    layers: Annotated[int | None, typer.Option("--layers", min=1, help="GRU layers / Transformer layers per stack.")] = None,
    heads: Annotated[int | None, typer.Option("--heads", min=1, help="Transformer attention heads.")] = None,
    seed: SeedOption = None,
    device: DeviceOption = "auto",
    out: Annotated[str | None, typer.Option("--out", "-o", help="Checkpoint name or .json path (default MODEL-LANG, e.g. gru-en).")] = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Folder for the run (last.json, metrics, loss.png).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --run-dir.")] = False,
    threads: ThreadsOption = 0,
    balance: Annotated[bool, typer.Option("--balance/--no-balance", help="Repeat numbers of rare digit counts (1-3 digits) in training.")] = True,
    export: Annotated[str, typer.Option("--export", help="Which weights --out gets: best (lowest validation loss) or last.")] = "best",
):
    """Train a gru or transformer model on num2words pairs with core's Trainer."""
    model = renamed(arch, model, "--arch", "--model", "numerals train") or "gru"
    from seqkit import data_dir, info, user_checkpoint_path

    from .train import ARCHS, DEFAULT_LR, check_settings

    if model not in ARCHS:
        raise SeqkitError(f"unknown --arch {model!r}; use {' or '.join(ARCHS)}")
    spec = _spec(max_, size, lang, sampling, negatives, seed)
    name = out or f"{model}-{lang}"
    if "/" in name or name.endswith(".json"):
        out_path = Path(name).expanduser()
        if out_path.is_dir():
            raise SeqkitError(f"--out {name} is a folder; give a .json path such as "
                              f"{out_path / f'{model}-{lang}.json'}, or a checkpoint name")
    else:
        out_path = user_checkpoint_path("numerals", name)  # a plain name: no '/' or '..'
    run = run_dir or data_dir("runs", "numerals", out_path.stem)
    overrides = {k: v for k, v in dict(n_embd=n_embd, hidden=hidden, n_layer=layers, n_head=heads).items()
                 if v is not None}
    flags = {"hidden": ("--hidden", "transformer"), "n_head": ("--heads", "gru")}  # (flag, ignored by)
    wrong = [flag for k, (flag, ignored_by) in flags.items() if k in overrides and model == ignored_by]
    if wrong:
        raise SeqkitError(f"{', '.join(wrong)} does not apply to --arch {model}")
    if batch_size < 1 or (steps is not None and steps < 1) or (epochs is not None and epochs < 1):
        raise SeqkitError("--batch-size, --steps and --epochs must be at least 1")
    if lr is not None and not (0 < lr < float("inf")):  # the Trainer would name its internal batch size 1
        raise SeqkitError(f"--lr must be a positive number, not {lr}")
    check_settings(model, overrides)  # a width the heads do not divide: one line, before the data
    check_writable(out_path, "--out")  # before training, not after it
    if not epochs and not steps:
        epochs = 5
    set_threads(threads)
    tc = dict(epochs=epochs, steps=steps, batch_size=batch_size, lr=lr or DEFAULT_LR[model],
              warmup_steps=warmup, schedule=schedule, eval_every=eval_every, device=device,
              seed=seed or 0)
    from .train import train

    result = train(model, spec, out=out_path, run_dir=run, train_config=tc, model_overrides=overrides,
                   resume=resume, balance=balance, export=export)
    if result["checkpoint"] is None:
        info(f"interrupted before the first validation: nothing saved to {out_path} "
             f"(continue with --resume --run-dir {run})")
        return
    t = result["test"]
    info(f"test split ({t['n']:,} unseen numbers): exact {t['exact']:.2%}, token accuracy {t['token_acc']:.2%}")
    stopped = f"interrupted at step {result['steps']}; " if result["interrupted"] else ""
    info(f"{stopped}saved {result['checkpoint']} ({export} weights; run: {run}, loss curve: {run / 'loss.png'})")


# ---------------------------------------------------------------- seqkit numerals eval


@numerals_app.command("eval")
def eval_command(
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Checkpoint name or path; repeat for several (default gru and transformer).")] = None,
    count: Annotated[int, typer.Option("--count", "-n", help="Numbers in each generated set (uniform, out of range).")] = 1000,
    seed: SeedOption = None,
    errors: Annotated[int, typer.Option("--errors", help="Show this many wrong answers per set.")] = 0,
    as_json: JsonOption = False,
    device: DeviceOption = "auto",
):
    """Exact-match and token accuracy on unseen in-range numbers and beyond the trained range."""
    if count < 1 or errors < 0:
        raise SeqkitError("--count must be at least 1 and --errors at least 0")
    if count > MAX_EVAL_COUNT:
        raise SeqkitError(f"--count is at most {MAX_EVAL_COUNT:,}, not {count:,} (num2words and each model "
                          "write every number of the uniform and out-of-range sets, a few thousand a second)")
    import torch

    from .evaluate import evaluate
    from .numbers import describe_range
    from .translate import Translator

    torch.set_num_threads(1)  # batches of 512 short sequences: extra threads mostly wait
    results = []
    for name in model or ["gru", "transformer"]:
        tr = Translator.load(name, device=device)
        rows = evaluate(tr, count=count, seed=1 if seed is None else seed)
        results.append({"model": tr.name, "path": str(tr.path), "backend": tr.backend,
                        "trained_range": [tr.spec.low, tr.spec.max],
                        "data": tr.spec.to_dict(), "rows": rows, "tr": tr})
    if as_json:
        for r in results:
            r.pop("tr")
            for row in r["rows"]:
                row["errors"] = [list(e) for e in row["errors"][:errors or 20]]
        typer.echo(json.dumps(results, ensure_ascii=False, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for r in results:
        tr = r["tr"]
        table = Table(title=f"{r['model']}: trained on {describe_range(tr.spec.low, tr.spec.max)} "
                            f"({tr.spec.size:,} numbers, {tr.spec.sampling})")
        for col in ("set", "n", "exact match", "token accuracy", "first error"):
            table.add_column(col, justify="right" if col in ("n", "exact match", "token accuracy") else "left")
        for row in r["rows"]:
            err = row["errors"][0] if row["errors"] else None
            table.add_row(row["set"], f"{row['n']:,}", f"{row['exact']:.2%}", f"{row['token_acc']:.2%}",
                          f"{err[0]}: {err[1]}" if err else "")
        console.print(table)
        for row in r["rows"] if errors else []:
            for n, got, want in row["errors"][:errors]:
                console.print(f"  {n}: got {got!r}\n  {' ' * len(str(n))}  want {want!r}", markup=False)
