"""The ``names`` generator: surnames for a country, as ``seqkit names`` and the Python API run it;
loading a names model and sampling surnames from it.

Importing this module is cheap (no torch): the run function imports what it needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from seqkit import (
    CheckpointError,
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

from .training import GENERATORS, MAX_NAME, TASK

MAX_COUNT = 1000
DEFAULT_COUNT = 10
DEFAULT_MODEL = "transformer"  # the best shipped model on agreement and novelty (docs/names.md)
MAX_ROUNDS = 20  # sampling rounds before giving up on finding enough distinct/new names

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


# ---------------------------------------------------------------- loading and sampling

@dataclass
class NamesModel:
    """A loaded names generator model: its network, tokenizer and countries."""

    model: object
    tokenizer: object
    countries: list[str]
    path: Path
    meta: dict
    backend: str = "torch"  # "onnx": model is a seqkit.generation.OnnxLM
    _known: set | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def arch(self) -> str:
        return (self.meta.get("extra") or {}).get("arch", "?")

    @property
    def known(self) -> set[str]:
        """The data's names, lower-cased, as stored in the checkpoint."""
        if self._known is None:
            text = (self.meta.get("extra") or {}).get("known") or ""
            self._known = set(text.split("\n")) if text else set()
        return self._known

    @property
    def max_length(self) -> int:
        limit = getattr(self.model.config, "max_len", None)
        return min(MAX_NAME, limit - 2) if limit else MAX_NAME


def load_generator(spec: str | None = None, device: str = "cpu") -> NamesModel:
    """A generator checkpoint by name (``gru``: user's first, then shipped) or path; on ONNX
    Runtime when it can (``gen.backend``), else torch."""
    from seqkit import find_checkpoint, load_for_inference

    path = find_checkpoint(spec or DEFAULT_MODEL, TASK)
    ck = load_for_inference(path, cpu_or_device(device), expect_task=TASK)
    extra = ck.extra
    if extra.get("arch") == "classifier":
        raise SeqkitError(f"{path} is the country classifier, not a name generator; "
                          f"use --model {'|'.join(GENERATORS)}|PATH")
    countries = extra.get("countries")
    if not countries or ck.tokenizer is None:
        raise CheckpointError(f"{path} is not a names generator (no countries or tokenizer recorded)")
    return NamesModel(ck.model, ck.tokenizer, list(countries), Path(path), ck.meta, backend=ck.backend)


def cpu_or_device(device: str) -> str:
    """``cpu`` and ``auto`` as they are (no torch needed: ``load_for_inference`` resolves
    ``auto``), anything else through ``pick_device``."""
    if str(device).strip().lower() in ("cpu", "auto"):
        return str(device).strip().lower()
    from seqkit import pick_device

    return str(pick_device(device))


def make_rng(seed: int | None, backend: str = "torch"):
    """The sampler's random numbers: a numpy Generator for the ONNX backend, else torch's."""
    seed = seed if seed is not None else int.from_bytes(os.urandom(8), "little") >> 1
    if backend == "onnx":
        import numpy as np

        return np.random.default_rng(seed)
    import torch

    g = torch.Generator()
    g.manual_seed(seed)
    return g


def sample(gen: NamesModel, country_ids: list[int], starts: list[str], temperature: float = 1.0,
           max_length: int = MAX_NAME, rng=None, batch_size: int = 2048, processors=None) -> list[str | None]:
    """One name per row (``country_ids[i]``, beginning with ``starts[i]``, "" for any); ``None``
    where the model did not end the name within ``max_length`` characters. ``processors``: core
    logit processors (e.g. the letters ``--avoid`` forbids)."""
    tok = gen.tokenizer
    out: list[str | None] = []
    never = [i for i in (tok.pad_id, tok.bos_id, tok.unk_id) if i is not None]  # input-only ids
    run = _onnx_rows if gen.backend == "onnx" else _torch_rows
    for lo in range(0, len(country_ids), batch_size):
        ids = country_ids[lo: lo + batch_size]
        pre = starts[lo: lo + batch_size]
        # rows with the same prefix length go together (a prompt is one rectangle)
        by_len: dict[int, list[int]] = {}
        for i, s in enumerate(pre):
            by_len.setdefault(len(s), []).append(i)
        part: list[str | None] = [None] * len(ids)
        for n_pre, rows in by_len.items():
            prompt = [[tok.bos_id] + tok.encode(pre[i]) for i in rows]
            new = max(1, max_length + 1 - n_pre)
            got = run(gen.model, prompt, [ids[i] for i in rows], new, temperature, tok.eos_id, never, rng,
                      processors)
            for r, row in zip(rows, got):
                if tok.eos_id in row:
                    part[r] = (pre[r] + tok.decode(row)).strip()
        out += part
    return out


def _torch_rows(model, prompt, cond, new, temperature, eos, never, rng, processors=None) -> list[list[int]]:
    import torch

    from seqkit import generate

    device = next(model.parameters()).device
    with torch.no_grad():
        got = generate(model, torch.tensor(prompt, device=device), new, temperature=temperature,
                       cond=torch.tensor(cond, device=device), stop_ids=(eos,), suppress_ids=never,
                       generator=rng, processors=processors)
    return got.tolist()


def _onnx_rows(model, prompt, cond, new, temperature, eos, never, rng, processors=None) -> list[list[int]]:
    import numpy as np

    from seqkit import generate_numpy

    got = generate_numpy(model, np.array(prompt, dtype=np.int64), new, temperature=temperature,
                         cond=np.array(cond, dtype=np.int64), stop_ids=(eos,), suppress_ids=never, rng=rng,
                         processors=processors)
    return got.tolist()


def pick_names(gen: NamesModel, country: str, count: int, starts: list[str] | None = None,
               temperature: float = 1.0, max_length: int = MAX_NAME, novel: bool = False,
               seed: int | None = None, processors=None) -> tuple[list[dict], int]:
    """``count`` distinct names per start letter (or ``count`` names when ``starts`` is empty):
    ``([{"name", "start", "new"}], missing)``, where ``missing`` is how many could not be found."""
    cid = gen.countries.index(country)
    rng = make_rng(seed, gen.backend)
    groups = starts or [""]
    found: dict[str, list[str]] = {s: [] for s in groups}
    seen: set[str] = set()
    for _ in range(MAX_ROUNDS):
        need = {s: count - len(found[s]) for s in groups if len(found[s]) < count}
        if not need:
            break
        rows = [s for s, k in need.items() for _ in range(2 * k + 2)]
        for s, name in zip(rows, sample(gen, [cid] * len(rows), rows, temperature, max_length, rng,
                                     processors=processors)):
            if not name or len(found[s]) >= count or name.lower() in seen:
                continue
            if novel and name.lower() in gen.known:
                continue
            seen.add(name.lower())
            found[s].append(name)
    result = [{"name": n, "start": s or None, "new": n.lower() not in gen.known}
              for s in groups for n in found[s]]
    return result, count * len(groups) - len(result)


def one_thread(gen: NamesModel) -> NamesModel:
    """Torch on one thread for a torch-backed generator (ONNX Runtime sessions use one already)."""
    if gen.backend == "torch":
        import torch

        torch.set_num_threads(1)
    return gen
