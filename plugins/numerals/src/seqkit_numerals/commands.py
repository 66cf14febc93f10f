"""``seqkit num2words`` and the ``seqkit numerals`` group (train, eval, data).

Typer only at module level: torch and num2words are imported inside the commands.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from seqkit import SeqkitError, generator_command, info, train_command
from seqkit.options import DeviceOption, JsonOption, SeedOption

from .generator import NUM2WORDS, show_words
from .training import NUMERALS_TRAINING

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


numerals_app.command("train")(train_command(NUMERALS_TRAINING))


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
