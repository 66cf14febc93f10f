"""The num2words dataset: distinct integers and their words, cached, split, tokenized.

A ``DataSpec`` names a dataset (language, range, size, sampling, share of negatives, seed). It is
built once with num2words (with a progress bar) and cached as a TSV file in seqkit's cache folder,
under a name made of those parameters and the num2words version. The split into train/val/test is
recomputed from the seed, so the three parts are disjoint sets of numbers.

Tokens. The source is the number's digits, *reversed* (units first) with the sign last, one
character token each ("-123" -> "3", "2", "1", "-"), so a digit's position is its power of ten. The
target is num2words' text as words, with the hyphen as a token of its own ("twenty-one" ->
"twenty", "-", "one") and the comma kept on its word ("thousand," is a word of its own).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path

from seqkit import SeqkitError

SOURCE_SYMBOLS = list("0123456789-")
SAMPLINGS = ("digits", "uniform")
FORMAT = "seqkit-numerals-pairs v1"
SAMPLER_VERSION = 1  # bump when sample_numbers() changes, so old caches are not reused


@dataclass(frozen=True)
class DataSpec:
    """What a dataset is made of; two equal specs give the same numbers, words and splits."""

    lang: str = "en"
    max: int = 10**9  # numbers lie in [0, max), and in (-max, 0) for the negative share
    size: int = 100_000  # distinct numbers
    sampling: str = "digits"  # digits: digit count uniform (every magnitude equally); uniform: over the range
    negatives: float = 0.05  # share of negative numbers
    seed: int = 0
    val_fraction: float = 0.05
    test_fraction: float = 0.05

    def __post_init__(self):
        if self.sampling not in SAMPLINGS:
            raise SeqkitError(f"unknown sampling {self.sampling!r}; use {' or '.join(SAMPLINGS)}")
        if self.max < 2:
            raise SeqkitError("--max must be at least 2")
        from .numbers import languages, num2words_limit

        limit = num2words_limit(self.lang) if self.lang in languages() else None
        if limit is not None and self.max > limit:
            raise SeqkitError(f"--max ({len(str(self.max))} digits) is beyond what num2words writes in {self.lang!r} "
                              f"(numbers below 10^{len(str(limit)) - 1})")
        if not 0.0 <= self.negatives < 1.0:
            raise SeqkitError("--negatives must be a fraction in [0, 1)")
        if self.size < 3:
            raise SeqkitError("--size must be at least 3 (train, val and test need a number each)")
        if self.size > self.capacity:
            raise SeqkitError(f"--size {self.size} is more than the {self.capacity} distinct integers in "
                              f"the range; raise --max or lower --size")
        if not (0 < self.val_fraction < 1 and 0 < self.test_fraction < 1
                and self.val_fraction + self.test_fraction < 1):
            raise SeqkitError("val and test fractions must be in (0, 1) and sum below 1")

    @property
    def low(self) -> int:
        """The smallest number the data can hold."""
        return -(self.max - 1) if self.negatives > 0 else 0

    @property
    def capacity(self) -> int:
        return self.max - self.low

    def in_range(self, n: int) -> bool:
        return self.low <= n < self.max

    def key(self) -> str:
        from importlib.metadata import version

        mx = str(self.max)
        if len(mx) > 40:  # keep the file name under the file system's 255 characters
            import hashlib

            mx = f"{len(mx)}digits{hashlib.sha256(mx.encode()).hexdigest()[:12]}"
        return (f"{self.lang}-max{mx}-n{self.size}-{self.sampling}{SAMPLER_VERSION}"
                f"-neg{self.negatives:g}-seed{self.seed}-num2words{version('num2words')}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DataSpec:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in fields})


# ---------------------------------------------------------------- sampling numbers


def _draw_digits(rng: random.Random, max_value: int) -> int:
    """A number whose digit count is uniform over 1..digits(max-1), so every magnitude is equally
    common. Below the leading group, each group of three digits is 000 (30%), 001-099 (15%),
    a round hundred (5%) or any of 000-999 (50%), so that 1,000,000 and 101,001,001-like numbers,
    rare when digits are drawn uniformly, are common."""
    n_digits = len(str(max_value - 1))
    while True:
        d = rng.randint(1, n_digits)
        lead = (d - 1) % 3 + 1
        n = rng.randint(0 if d == 1 else 10 ** (lead - 1), 10**lead - 1)
        for _ in range((d - lead) // 3):
            r = rng.random()
            if r < 0.30:
                group = 0
            elif r < 0.45:
                group = rng.randint(1, 99)
            elif r < 0.50:
                group = rng.randint(1, 9) * 100
            else:
                group = rng.randint(0, 999)
            n = n * 1000 + group
        if n < max_value:
            return n


def sample_numbers(spec: DataSpec) -> list[int]:
    """``spec.size`` distinct integers, in a seeded random order."""
    rng = random.Random(spec.seed)
    if spec.size * 2 >= spec.capacity:  # small ranges: shuffle the whole range
        pool = list(range(spec.low, spec.max))
        rng.shuffle(pool)
        if spec.sampling == "uniform":
            return pool[: spec.size]
        neg = [n for n in pool if n < 0]
        pos = [n for n in pool if n >= 0]
        k = max(round(spec.size * spec.negatives), spec.size - len(pos))
        out = neg[:k] + pos[: spec.size - k]
        rng.shuffle(out)
        return out
    seen: dict[int, None] = {}
    attempts = 0
    while len(seen) < spec.size:
        attempts += 1
        if attempts > 100 * spec.size:
            raise SeqkitError("could not draw enough distinct numbers; raise --max or lower --size")
        if spec.sampling == "uniform":
            n = rng.randrange(0, spec.max)
        else:
            n = _draw_digits(rng, spec.max)
        if n and rng.random() < spec.negatives:
            n = -n
        seen.setdefault(n)
    return list(seen)


# ---------------------------------------------------------------- building and caching


def cache_path(spec: DataSpec) -> Path:
    from seqkit import cache_dir

    return cache_dir("numerals") / f"{spec.key()}.tsv"


def _read_cache(path: Path, spec: DataSpec) -> list[tuple[int, str]] | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or lines[0] != f"# {FORMAT} {spec.key()}":
        return None
    try:
        pairs = [(int(n), words) for n, words in (line.split("\t", 1) for line in lines[1:])]
    except ValueError:
        return None
    return pairs if len(pairs) == spec.size else None


def build_pairs(spec: DataSpec, progress: bool = True, use_cache: bool = True) -> list[tuple[int, str]]:
    """``(number, words)`` pairs of the dataset, from the cache or made with num2words."""
    from seqkit import atomic_write_bytes, progress_bar

    from .numbers import check_lang

    check_lang(spec.lang)
    path = cache_path(spec)
    if use_cache and path.exists():
        pairs = _read_cache(path, spec)
        if pairs is not None:
            return pairs
    from num2words import num2words

    numbers = sample_numbers(spec)
    pairs = []
    with progress_bar(disable=not progress) as bar:
        task = bar.add_task(f"num2words ({spec.lang})", total=len(numbers))
        for i, n in enumerate(numbers):
            try:
                words = num2words(n, lang=spec.lang)
            except (OverflowError, NotImplementedError) as exc:
                raise SeqkitError(f"num2words cannot write {n} in {spec.lang!r} ({type(exc).__name__}); "
                                  f"lower --max") from None
            if "\t" in words or "\n" in words:
                raise SeqkitError(f"num2words wrote {n} with a tab or newline in {spec.lang!r}")
            pairs.append((n, words))
            if i % 1000 == 999:
                bar.update(task, completed=i + 1)
        bar.update(task, completed=len(numbers))
    text = "\n".join([f"# {FORMAT} {spec.key()}"] + [f"{n}\t{w}" for n, w in pairs]) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))
    return pairs


def split_pairs(pairs: list, spec: DataSpec) -> dict[str, list]:
    """Disjoint ``train``/``val``/``test`` parts, the same for the same spec."""
    from seqkit import seeded_split

    rest, test = seeded_split(pairs, spec.test_fraction, seed=spec.seed)
    train, val = seeded_split(rest, spec.val_fraction / (1 - spec.test_fraction), seed=spec.seed + 1)
    return {"train": train, "val": val, "test": test}


def load_splits(spec: DataSpec, progress: bool = True) -> dict[str, list]:
    return split_pairs(build_pairs(spec, progress=progress), spec)


def load_dataset(path=None, progress: bool = True, **options) -> dict[str, list]:
    """The registered dataset ``num2words``: ``{"train", "val", "test"}`` lists of (number, words).

    ``path`` is unused (the data is generated); ``options`` are ``DataSpec`` fields.
    """
    return load_splits(DataSpec(**options), progress=progress)


def balance_magnitudes(pairs: list, max_repeat: int = 200) -> list:
    """Training pairs with the rarer digit counts repeated (at most ``max_repeat`` times) towards
    the mean count per digit count. Distinct small numbers run out (there are 10 one-digit
    numbers): without this a model sees "four" a handful of times among 270,000 pairs and may never
    learn to stop after one word."""
    from collections import defaultdict

    groups: dict[int, list] = defaultdict(list)
    for p in pairs:
        groups[len(str(abs(p[0])))].append(p)
    mean = len(pairs) / len(groups)
    out = []
    for d in sorted(groups):
        g = groups[d]
        out += g * max(1, min(max_repeat, round(mean / len(g))))
    return out


# ---------------------------------------------------------------- tokens


def source_text(n: int) -> str:
    """What the encoder reads: digits units-first, then the sign (``-123`` -> ``"321-"``)."""
    return str(int(n))[::-1]


def source_tokenizer():
    from seqkit import CharTokenizer

    return CharTokenizer(SOURCE_SYMBOLS)


def target_tokenizer(texts):
    """Words of the training targets; the hyphen is a token of its own."""
    from seqkit import WordTokenizer

    return WordTokenizer.build(texts, split_chars="-")


class PairDataset:
    """Map-style dataset of encoded ``(src_ids, tgt_ids)`` for the Trainer; ``by_length`` orders
    the pairs by target length (validation batches then hold pairs of about one length)."""

    def __init__(self, pairs, src_tok, tgt_tok, by_length: bool = False):
        self.pairs = list(pairs)
        self.src = [src_tok.encode(source_text(n)) for n, _ in self.pairs]
        self.tgt = [tgt_tok.encode(w, add_bos=True, add_eos=True) for _, w in self.pairs]
        if by_length:
            order = sorted(range(len(self.pairs)), key=lambda i: len(self.tgt[i]))
            self.pairs, self.src, self.tgt = ([xs[i] for i in order] for xs in (self.pairs, self.src, self.tgt))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i):
        return self.src[i], self.tgt[i]


class LengthBatches:
    """Training pairs served in batches of about the same target length.

    Numbers of every magnitude make targets of 2 to 40 tokens; random batches would be padded to
    their longest member and spend about half of their compute on padding. The Trainer asks for
    each epoch's batches (``batches``, its protocol for sets that order their own): their make-up
    is fixed by ``seed``, their order shuffled every epoch as the Trainer shuffles items.
    """

    def __init__(self, dataset: PairDataset, seed: int = 0):
        rng = random.Random(seed)
        self.dataset = dataset
        self.order = sorted(range(len(dataset)), key=lambda i: len(dataset.tgt[i]) + 3 * rng.random())

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        return self.dataset[i]

    def batches(self, epoch: int, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> list[list[int]]:
        import math

        import torch

        groups = [self.order[i : i + batch_size] for i in range(0, len(self.order), batch_size)]
        g = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)
        order = torch.randperm(len(groups), generator=g).tolist()
        if world > 1:  # every rank the same number of batches
            per = math.ceil(len(order) / world)
            order = (order * math.ceil(per * world / len(order)))[: per * world][rank::world]
        return [groups[i] for i in order]


class Collate:
    """Pads a batch into ``{"src", "tgt_in", "tgt_out"}`` (``tgt_out`` padded with -100)."""

    def __init__(self, src_pad: int, tgt_pad: int):
        self.src_pad, self.tgt_pad = src_pad, tgt_pad

    def __call__(self, items):
        from seqkit import pad_sequences

        src = pad_sequences([s for s, _ in items], self.src_pad)
        tgt_in = pad_sequences([t[:-1] for _, t in items], self.tgt_pad)
        tgt_out = pad_sequences([t[1:] for _, t in items], -100)
        return {"src": src, "tgt_in": tgt_in, "tgt_out": tgt_out}
