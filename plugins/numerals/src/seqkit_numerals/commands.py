"""``seqkit num2words`` and the ``seqkit numerals`` group (train, eval, data).

Typer only at module level: torch and num2words are imported inside the commands.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from seqkit import JsonOption, SeedOption, eval_command, generator_command, train_command

from .evaluation import NUMERALS_EVAL
from .generator import NUM2WORDS, show_words
from .training import NUMERALS_TRAINING, data_spec

numerals_app = typer.Typer(help="Numbers as words: build the num2words data, train and evaluate models.",
                           no_args_is_help=True)

MaxOption = Annotated[str, typer.Option("--max", help="Numbers lie below this bound (1e9, 1e15, 1000000 ...).")]
SizeOption = Annotated[int, typer.Option("--size", help="How many distinct numbers (split 90/5/5 into train/val/test).")]
LangOption = Annotated[str, typer.Option("--lang", help="Any language num2words supports: en, fr, de, es ...")]
SamplingOption = Annotated[str, typer.Option(
    "--sampling", help="digits: every digit count equally often, zero groups common; uniform: uniform over the range.")]
NegOption = Annotated[float, typer.Option("--negatives", help="Share of negative numbers (0 = none).")]


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
    as_json: JsonOption = False,
):
    """Build (or read from the cache) the num2words dataset and describe it."""
    from .data import build_pairs, cache_path, split_pairs, target_tokenizer
    from .numbers import describe_range

    spec = data_spec({"max": max_, "size": size, "lang": lang, "sampling": sampling, "negatives": negatives}, seed or 0)
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


numerals_app.command("eval")(eval_command(NUMERALS_EVAL))
