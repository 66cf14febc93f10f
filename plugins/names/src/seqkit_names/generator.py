"""The ``names`` generator: surnames for a country, as ``seqkit names`` and the Python API run it.

Importing this module is cheap (no torch): the run function imports what it needs.
"""

from __future__ import annotations

from seqkit import (
    Example,
    Generator,
    Output,
    Param,
    Result,
    SeqkitError,
    count_param,
    device_param,
    model_param,
    seed_param,
    temperature_param,
)

MAX_COUNT = 1000
DEFAULT_COUNT = 10

NAMES = Generator(
    "names",
    "seqkit_names.generator:make_names",
    [
        Param("country", "str", None, "Country or language: Greek, Greece, russia ... "
              "(see `seqkit names countries`).", flags=("--country", "-c"), choices=lambda: countries_offered(),
              page_help="Whose surnames: the language or country of the names the model learned."),
        count_param(None, max=None, help=f"How many names (per --start letter). [default: "
                    f"{DEFAULT_COUNT}; 1 per letter with --start; at most {MAX_COUNT} in all]",
                    soft_max=50, page_help=f"How many names (one per starting letter when starting letters "
                    f"are given); at most {MAX_COUNT}."),
        Param("start", "str", None, "Starting letters, one name each, like the tutorial's tables: "
              "--start ABCDEFGKMN.", page_help="Starting letters, one name each, e.g. ABCDEFGKMN (empty: any)."),
        model_param("transformer", help="rnn, lstm, gru, transformer or a checkpoint path (the default: "
                    "the best shipped model).", task="names",
                    model_types=("names-rnn", "rnn-lm", "transformer-lm"),
                    page_help="Which trained model: transformer (the default) is the best shipped one."),
        temperature_param(),
        seed_param(),
        Param("avoid", "str", None, "Letters no name may contain, in either case: --avoid kz.",
              page_help="Letters the names must not contain, e.g. kz (empty: any)."),
        Param("max_length", "int", 20, "Longest name, in characters.", min=1, soft_max=30),
        Param("novel", "bool", False, "Leave out names already in the data."),
        device_param("auto"),
    ],
    task="names",
    description="Print new surnames for a country: seqkit names --country Greek",
    command="names",
    examples=[Example("Greek names", {"country": "Greek", "count": 8},
                      "Eight surnames a small model invents for Greek, marked when they are new.")],
)


def countries_offered() -> list[str]:
    """The countries of the default model (what ``seqkit names countries`` lists)."""
    from seqkit import find_checkpoint, read_meta

    from .sample import DEFAULT_MODEL

    meta = read_meta(find_checkpoint(DEFAULT_MODEL, "names"))
    return sorted((meta.get("data") or {}).get("counts") or {})


def parse_start(start: str | None) -> list[str]:
    if start is None:
        return []
    letters = "".join(start.split())
    if not letters or not all(ch.isascii() and ch.isalpha() for ch in letters):
        raise SeqkitError(f"--start takes ASCII letters, one name per letter (e.g. ABCDEFGKMN), not {start!r}")
    return list(dict.fromkeys(letters.upper()))


def avoid_processor(avoid: str | None, tok, starts: list[str]):
    """A core logit processor that forbids the tokenizer's characters whose letter (case and
    accents aside) is in ``avoid``, or None; one error for a non-letter, an avoided ``--start``
    letter, or a value that leaves the model no letter."""
    if avoid is None:
        return None
    import unicodedata

    from seqkit import TokenBias

    letters = "".join(avoid.split())
    if not letters or not all(ch.isalpha() for ch in letters):
        raise SeqkitError(f"--avoid takes letters, e.g. --avoid kz, not {avoid!r}")

    def base(ch: str) -> str:
        return unicodedata.normalize("NFKD", ch)[:1].lower()

    banned = {base(ch) for ch in letters}
    clash = [s for s in starts if base(s) in banned]
    if clash:
        raise SeqkitError(f"--start {''.join(clash)} begins with a letter that --avoid {avoid} forbids")
    chars = {ch: i for ch, i in tok.stoi.items() if len(ch) == 1}
    if not any(ch.isalpha() and base(ch) not in banned for ch in chars):
        raise SeqkitError(f"--avoid {avoid} leaves no letter to write a name with")
    return TokenBias.ban(i for ch, i in chars.items() if base(ch) in banned)


def _capped(count: int | None, letters: list[str], notes: list[str]) -> int:
    if count is None:
        count = 1 if letters else DEFAULT_COUNT
    groups = max(1, len(letters))
    if count * groups > MAX_COUNT:  # the cap is on the names printed, however many letters
        if groups == 1:
            notes.append(f"-n {count} is more than {MAX_COUNT}; printing {MAX_COUNT}")
        else:
            notes.append(f"-n {count} for {groups} letters is more than {MAX_COUNT} names; "
                         f"printing {max(1, MAX_COUNT // groups)} per letter")
        count = max(1, MAX_COUNT // groups)
    return count


def make_names(country, count, start, model, temperature, seed, max_length, novel, device, ctx=None,
               avoid=None) -> Result:
    """``count`` distinct surnames for ``country`` (per ``start`` letter), each with ``new``:
    whether the name is absent from the data the model learned from."""
    from .countries import resolve_country

    letters = parse_start(start)
    notes: list[str] = []
    count = _capped(count, letters, notes)
    if country is None:
        raise SeqkitError("which country? e.g. --country Greek (one of the countries of the model)")
    from .sample import load_generator, one_thread, pick_names

    gen = one_thread(load_generator(model, device))  # a few dozen names: more threads only cost time
    name_country = resolve_country(country, gen.countries)
    if max_length > gen.max_length:
        raise SeqkitError(f"--max-length is at most {gen.max_length} for {gen.name}")
    missing_letters = [ch for ch in letters if ch not in gen.tokenizer.stoi]
    if missing_letters:
        raise SeqkitError(f"{gen.name} has no letter {', '.join(missing_letters)}")
    avoided = avoid_processor(avoid, gen.tokenizer, letters)
    if ctx is not None and count * max(1, len(letters)) > 100:
        # rounds until enough distinct names: no known end, the bar shows that work goes on
        ctx.progress(0, None, f"sampling {count * max(1, len(letters))} names")
    found, missing = pick_names(gen, name_country, count, letters, temperature, max_length, novel, seed,
                                processors=[avoided] if avoided else None)
    if missing:
        what = "new " if novel else ""
        notes.append(f"found only {len(found)} distinct {what}{name_country} names of at most "
                     f"{max_length} letters (asked for {len(found) + missing})")
    outputs = [Output(row["name"], meta={"start": row["start"], "new": row["new"]}) for row in found]
    meta = {"country": name_country, "model": gen.name, "arch": gen.arch, "backend": gen.backend,
            "temperature": temperature, "seed": seed}
    if avoid is not None:
        meta["avoid"] = "".join(avoid.split())
    return Result(outputs, meta, notes)
