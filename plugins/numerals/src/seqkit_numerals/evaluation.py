"""Exact-match and token accuracy of a model against num2words, in and out of its range.

* exact: the whole output equals num2words' text.
* token accuracy: output and reference are split into tokens (words, hyphens) and compared position
  by position; matches / max(len(output), len(reference)), summed over the set.
"""

from __future__ import annotations

import random

from seqkit import EvalRecipe, Param

PROBES = (101001001001, 1001001001001)
MAX_EVAL_COUNT = 100_000  # num2words and each model write every number of the generated sets

NUMERALS_EVAL = EvalRecipe(
    task="numerals",
    evaluate="seqkit_numerals.evaluation:report",
    params=[
        Param("count", "int", 1000, "Numbers in each generated set (uniform, out of range).", min=1,
              max=MAX_EVAL_COUNT, flags=("--count", "-n")),
        Param("errors", "int", 0, "Show this many wrong answers per set.", min=0),
    ],
    default_models=("gru", "transformer"),
    multiple=True,
    render="seqkit_numerals.evaluation:render",
    description="Exact-match and token accuracy on unseen in-range numbers and beyond the trained range.",
    threads=1,  # batches of 512 short sequences: extra threads mostly wait
)


def score(translator, pairs: list[tuple[int, str]], batch_size: int = 512) -> dict:
    """``{"n", "exact", "token_acc", "errors": [(n, got, want) ...first 20]}`` over the pairs."""
    numbers = [n for n, _ in pairs]
    got = translator.words(numbers, batch_size=batch_size)
    split = translator.tgt_tok.split
    exact = matched = total = 0
    errors = []
    for (n, want), out in zip(pairs, got):
        if out == want:
            exact += 1
        elif len(errors) < 20:
            errors.append((n, out, want))
        a, b = split(out), split(want)
        matched += sum(x == y for x, y in zip(a, b))
        total += max(len(a), len(b))
    k = len(pairs)
    return {"n": k, "exact": exact / k if k else 0.0, "token_acc": matched / total if total else 0.0,
            "errors": errors}


def uniform_numbers(lo: int, hi: int, count: int, seed: int, exclude=frozenset()) -> list[int]:
    """``count`` distinct integers drawn uniformly from [lo, hi), none of them in ``exclude``."""
    rng = random.Random(seed)
    count = min(count, hi - lo - len(exclude))
    seen: dict[int, None] = {}
    while len(seen) < count:
        n = rng.randrange(lo, hi)
        if n not in exclude:
            seen.setdefault(n)
    return list(seen)


def log_uniform_numbers(lo: int, hi: int, count: int, seed: int) -> list[int]:
    """``count`` integers in [lo, hi) with a uniform number of digits."""
    rng = random.Random(seed)
    d_lo, d_hi = len(str(lo)), len(str(hi - 1))
    out = []
    while len(out) < count:
        d = rng.randint(d_lo, d_hi)
        n = rng.randrange(max(lo, 10 ** (d - 1)), min(hi, 10**d))
        out.append(n)
    return out


def eval_sets(spec, splits: dict, count: int = 1000, seed: int = 1) -> list[tuple[str, list[tuple[int, str]]]]:
    """Named lists of (number, reference): the unseen test split, uniform in-range numbers never
    seen in training, every small integer (the rarest magnitudes in the data), numbers from max to
    1000*max (out of range) and the probes."""
    from .numbers import num2words_limit, power_text, reference_words

    seen = frozenset(n for part in splits.values() for n, _ in part)
    lang = spec.lang

    def ref(numbers):
        return [(n, reference_words(n, lang)) for n in numbers]

    sets = [(f"test split (unseen, {len(splits['test'])} numbers)", splits["test"])]
    unseen = uniform_numbers(0, spec.max, count, seed, exclude=seen)
    if unseen:  # (a small range may be in the data entirely)
        sets.append((f"uniform in [0, {power_text(spec.max)}), unseen", ref(unseen)))
    small = list(range(-99 if spec.negatives > 0 else 0, min(1000, spec.max)))
    sets.append((f"every integer in [{small[0]}, {small[-1] + 1}) (most seen in training)", ref(small)))
    hi = spec.max * 1000
    limit = num2words_limit(lang)
    if limit is not None:  # no reference beyond what num2words writes (a model trained up to 10^305)
        hi = min(hi, limit)
    if hi > spec.max:
        sets.append((f"out of range: [{power_text(spec.max)}, {power_text(hi)})",
                     ref(log_uniform_numbers(spec.max, hi, count, seed))))
    for p in PROBES:
        sets.append((f"{p:,}" + ("" if spec.in_range(p) else " (out of range)"), ref([p])))
    return sets


def evaluate(translator, count: int = 1000, seed: int = 1, progress: bool = True, limit: int | None = None,
             batch_size: int = 512, on_set=None) -> list[dict]:
    """One row per evaluation set: name, n, exact, token_acc, and the first errors; at most
    ``limit`` numbers of each set; ``on_set(done, total, name)`` before each."""
    from .data import load_splits

    splits = load_splits(translator.spec, progress=progress)
    sets = eval_sets(translator.spec, splits, count=min(count, limit or count), seed=seed)
    rows = []
    for i, (name, pairs) in enumerate(sets):
        if on_set is not None:
            on_set(i, len(sets), name)
        rows.append({"set": name, **score(translator, pairs[:limit], batch_size)})
    return rows


def report(run) -> dict:
    """`seqkit numerals eval`: every model's rows, with what it was trained on."""
    from seqkit import SeqkitError

    from .translate import Translator

    if run.data is not None:
        raise SeqkitError("numerals eval makes its sets from each model's own data (num2words): --data is not used")
    count, shown = run.options["count"], run.options["errors"]
    models = []
    for name in run.models:
        tr = Translator.load(name, device=run.device_option)
        rows = evaluate(tr, count=count, seed=run.seed, limit=run.limit, batch_size=run.batch_size or 512,
                        on_set=lambda i, total, label, who=tr.name: run.progress(i, total, f"{who}: {label}"))
        for row in rows:
            row["errors"] = [list(e) for e in row["errors"][: shown or 20]]
        models.append({"model": tr.name, "path": str(tr.path), "backend": tr.backend,
                       "trained_range": [tr.spec.low, tr.spec.max], "data": tr.spec.to_dict(), "rows": rows})
    return {"count": count, "seed": run.seed, "errors_shown": shown, "models": models}


def render(report: dict):
    """A table per model; with ``--errors N``, N wrong answers of each set under it."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from .numbers import describe_range

    parts = []
    for m in report["models"]:
        data = m["data"]
        table = Table(title=f"{m['model']}: trained on {describe_range(*m['trained_range'])} "
                            f"({data['size']:,} numbers, {data['sampling']})")
        for col in ("set", "n", "exact match", "token accuracy", "first error"):
            table.add_column(col, justify="left" if col in ("set", "first error") else "right")
        for row in m["rows"]:
            err = row["errors"][0] if row["errors"] else None
            table.add_row(row["set"], f"{row['n']:,}", f"{row['exact']:.2%}", f"{row['token_acc']:.2%}",
                          f"{err[0]}: {err[1]}" if err else "")
        parts.append(table)
        for row in m["rows"] if report["errors_shown"] else []:
            for n, got, want in row["errors"][: report["errors_shown"]]:
                parts.append(Text(f"  {n}: got {got!r}\n  {' ' * len(str(n))}  want {want!r}"))
    return Group(*parts)
