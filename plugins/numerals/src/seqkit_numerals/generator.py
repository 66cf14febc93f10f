"""The ``num2words`` generator: numbers as words, as ``seqkit num2words`` and the Python API run it.

Importing this module is cheap (no torch, no num2words): the run function imports what it needs.
"""

from __future__ import annotations

from pathlib import Path

from seqkit import Example, Generator, Output, Param, Result, SeqkitError, device_param, model_param

NUM2WORDS = Generator(
    "num2words",
    "seqkit_numerals.generator:number_words",
    [
        Param("numbers", "list", None, "Integers such as 42, -7, 1,000 or 1_000; - reads one per line "
              "from stdin.", argument=True, stdin="stream",
              page_help="Integers, one per line, such as 42, -7, 1,000 or 1_000."),
        model_param("gru", help="gru, transformer, a name you trained, or a .json path.", task="numerals",
                    page_help="Which trained model: gru (the default) or transformer, or one you trained."),
        Param("lang", "str", None, "Language (default: the model's own).",
              page_help="Language of the words (empty: the model's own)."),
        Param("check", "bool", False, "Also show num2words' answer and mark mismatches."),
        device_param("auto"),
    ],
    task="numerals",
    description="Write numbers as words with a trained seq2seq model: seqkit num2words 101001001001",
    command="num2words",
    examples=[Example("101001001001 in words", {"numbers": ["101001001001"], "check": True},
                      "A small seq2seq model writes a twelve-digit number as English words.")],
)


def _parse(texts: list[str] | None) -> list[int]:
    from .numbers import parse_number

    texts = list(texts or [])
    for t in texts:
        if t.startswith("--"):
            raise SeqkitError(f"no such option: {t} (see seqkit num2words --help)")
    if not texts:
        raise SeqkitError("give at least one number, or - to read one per line from stdin")
    return [parse_number(t) for t in texts]


def pick_model(model: str, lang: str | None) -> Path:
    """The checkpoint for ``--model`` in ``--lang`` (``gru`` + ``fr`` -> ``gru-fr`` if needed)."""
    from seqkit import find_checkpoint, read_meta

    from .translate import TASK

    path = find_checkpoint(model, TASK)
    if lang is None:
        return path
    model_lang = (read_meta(path).get("data") or {}).get("lang")
    if model_lang == lang:
        return path
    looks_like_path = "/" in model or model.endswith(".json")
    if not looks_like_path:
        try:
            other = find_checkpoint(f"{model}-{lang}", TASK)
        except SeqkitError:
            other = None
        if other is not None:
            return other
    arch = "transformer" if "transformer" in model else "gru"
    raise SeqkitError(f"the {model} model writes {model_lang!r}, not {lang!r}; train one with "
                      f"`seqkit numerals train --model {arch} --lang {lang}` (then use --model {arch}-{lang})")


def _words(tr, values: list[int], ctx=None, chunk: int = 512) -> list[str]:
    """``tr.words(values)``, in chunks that report progress when there are many (stdin)."""
    if len(values) <= chunk or ctx is None:
        return tr.words(values)
    out: list[str] = []
    for lo in range(0, len(values), chunk):
        ctx.progress(lo, len(values), "numbers")
        out += tr.words(values[lo: lo + chunk])
    ctx.progress(len(values), len(values))
    return out


_last: dict = {}  # the last model loaded: `num2words -` runs once per batch of stdin lines


def _translator(path, device):
    """``Translator.load``, kept for the next call with the same file (unchanged), device and backend."""
    import os

    from .translate import Translator

    key = (str(path), os.stat(path).st_mtime_ns, str(device), os.environ.get("SEQKIT_BACKEND", ""))
    if key not in _last:
        _last.clear()  # one model at most
        _last[key] = Translator.load(str(path), device=device)
    return _last[key]


def number_words(numbers, model, lang, check, device, ctx=None) -> Result:
    """The words for each number, with ``in_range`` (inside the range the model was trained on)
    and, with ``check``, num2words' own answer and whether they match."""
    from .numbers import check_lang, check_supported, describe_range, reference_words

    values = _parse(numbers)
    if lang is not None:
        check_lang(lang)
    path = pick_model(model, lang)
    tr = _translator(path, device)
    if tr.backend == "torch":
        import torch

        # tiny models, short sequences: one thread is fastest at any count (several spin-wait on a
        # busy CPU: 8,000 numbers from stdin took 42 s with torch's 2 threads here, 3 s with one)
        torch.set_num_threads(1)
    for n in values:
        check_supported(n, tr.lang)
    limit = getattr(tr.model.config, "max_len", None)
    too_long = [n for n in values if limit and len(str(n)) > limit]
    if too_long:
        raise SeqkitError(f"the {tr.name} model reads at most {limit} characters; {too_long[0]} has {len(str(too_long[0]))}")
    words = _words(tr, values, ctx)
    notes = []
    outside = [n for n in values if not tr.spec.in_range(n)]
    if outside:
        what = f"{outside[0]} lies" if len(outside) == 1 else f"{len(outside)} numbers lie"
        notes.append(f"Warning: {what} outside the range the {tr.name} model was trained on "
                     f"({describe_range(tr.spec.low, tr.spec.max)}); the words may be wrong.")
    outputs = []
    for n, w in zip(values, words):
        meta = {"number": n, "in_range": tr.spec.in_range(n)}
        if check:
            ref = reference_words(n, tr.lang)
            meta.update(reference=ref, match=w == ref)
        outputs.append(Output(w, meta=meta))
    if check and len(values) > 1:
        ok = sum(o.meta["match"] for o in outputs)
        notes.append(f"{ok}/{len(values)} match num2words")
    meta = {"model": tr.name, "lang": tr.lang, "backend": tr.backend,
            "trained_range": [tr.spec.low, tr.spec.max]}
    return Result(outputs, meta, notes)


def show_words(result: Result) -> None:
    """One line per number; with ``--check``, a mark and num2words' answer where they differ."""
    import typer

    for out in result.outputs:
        if "match" not in out.meta:
            typer.echo(out.text)
        elif out.meta["match"]:
            typer.echo(f"{out.text}  ✓")
        else:
            typer.echo(f"{out.text}  ✗ num2words: {out.meta['reference']}")
