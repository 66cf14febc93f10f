"""Where ``seqkit music`` gets its data and tokenizer: any registered music dataset and tokenizer.

``--dataset NAME`` is any dataset registered for the task ``music`` (``maestro``, ``midi-folder``,
another plugin's ``lakh-clean-midi`` ...) or ``auto``; ``--dataset-option key=value`` passes a
keyword the loader accepts. ``--tokenizer NAME`` is any registered tokenizer type that satisfies
the music tokenizer contract, ``--tokenizer-option key=value`` one of its settings. Nothing here
imports another plugin: everything is looked up in the registry. The contracts are documented in
docs/music.md ("Music datasets and tokenizers from other plugins").
"""

from __future__ import annotations

import difflib
import inspect
from pathlib import Path

from seqkit import SeqkitError

TASK = "music"
# what the music commands pass to a loader themselves (never a --dataset-option)
INTERNAL = ("path", "tokenizer", "splits", "workers", "progress", "limit")
# what a music tokenizer needs (see docs/music.md)
TOKENIZER_NEEDS = ("encode", "decode_notes", "decode_midi", "to_dict", "from_dict", "cache_key")


def _close(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=3)
    return f"; did you mean {', '.join(close)}?" if close else ""


# -- key=value options ---------------------------------------------------------------------------

def pairs_to_dict(pairs: list[str] | None, flag: str) -> dict:
    """``["program=25", "per-genre=5"]`` -> ``{"program": "25", "per_genre": "5"}`` (strings)."""
    out = {}
    for pair in pairs or []:
        key, eq, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key:
            raise SeqkitError(f"{flag} takes key=value, got {pair!r}")
        out[key] = value.strip()
    return out


def keyword_params(fn, skip=()) -> dict[str, inspect.Parameter]:
    """The parameters of ``fn`` that have a default (the settings a user may give)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return {n: p for n, p in params.items() if p.default is not inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in skip}


def _convert(value, param: inspect.Parameter, what: str):
    """A string from the command line as the type the parameter's annotation (or default) names."""
    if not isinstance(value, str):
        return value  # already typed (e.g. recorded in a checkpoint)
    ann = param.annotation if isinstance(param.annotation, str) else getattr(param.annotation, "__name__", "")
    if ann in ("", inspect.Parameter.empty.__name__, "_empty"):
        default = param.default
        ann = type(default).__name__ if isinstance(default, (bool, int, float)) else "str"
    if value.lower() in ("none", "null") and ("None" in ann or param.default is None):
        return None
    kinds = type_names(ann)
    try:
        return typed(value, kinds)
    except ValueError:
        raise SeqkitError(f"{what} {param.name}={value}: expected {' or '.join(k for k in kinds if k != 'None')}") from None


def type_names(annotation: str) -> list[str]:
    """``"int | None"`` or ``"Optional[int]"`` -> ``["int", "None"]``."""
    return [t.strip() for t in annotation.replace("Optional[", "").rstrip("]").split("|")]


def typed(value: str, kinds: list[str]):
    """A command-line string as the first of bool, int, float that ``kinds`` names (else the
    string); ``ValueError`` when it does not parse."""
    if "bool" in kinds:
        if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(value)
        return value.lower() in ("1", "true", "yes", "on")
    if "int" in kinds:
        return int(value)
    if "float" in kinds:
        return float(value)
    return value


def parse_options(options: dict, params: dict[str, inspect.Parameter], what: str, owner: str) -> dict:
    """Check option names against ``params`` (clean error for unknown ones) and convert values."""
    unknown = sorted(set(options) - set(params))
    if unknown:
        key = unknown[0]
        known = ", ".join(sorted(params)) or "none"
        raise SeqkitError(f"{what} {key}: {owner} has no such option{_close(key, params)} (known: {known})")
    return {k: _convert(v, params[k], what) for k, v in options.items()}


# -- datasets ------------------------------------------------------------------------------------

def music_datasets() -> dict:
    from seqkit import datasets

    return {n: d for n, d in datasets().items() if d.task in (TASK, "")}


def detect_dataset(data: Path) -> str:
    """``auto``: ``maestro`` for a folder with MAESTRO metadata or a ``.npz`` archive, else
    ``midi-folder``."""
    is_maestro = data.is_dir() and (any(data.glob("maestro-v*.csv")) or any(data.glob("maestro-v*.json")))
    return "maestro" if is_maestro or data.suffix == ".npz" else "midi-folder"


def music_dataset(name: str):
    """The registered ``DatasetType`` for ``--dataset NAME`` (task ``music``)."""
    from seqkit import datasets

    if name == "folder":
        name = "midi-folder"
    table = music_datasets()
    if name in table:
        return table[name]
    other = datasets().get(name)
    if other is not None:
        raise SeqkitError(f"dataset {name!r} is for the {other.task} task, not music "
                          f"(music datasets: {', '.join(sorted(table))})")
    raise SeqkitError(f"unknown music dataset {name!r}{_close(name, list(table) + ['auto'])} "
                      f"(known: auto, {', '.join(sorted(table))})")


def dataset_options(name: str, options: dict) -> dict:
    """``--dataset-option`` values checked against the loader's keyword parameters."""
    if not options:
        return {}
    load = music_dataset(name).resolve()
    return parse_options(options, keyword_params(load, INTERNAL), "--dataset-option", f"dataset {name!r}")


# -- tokenizers ----------------------------------------------------------------------------------

def tokenizer_class(name: str):
    """The class of a registered tokenizer type that satisfies the music tokenizer contract."""
    from seqkit import get_tokenizer_type, tokenizer_types

    table = tokenizer_types()
    if name not in table:
        music = [n for n in table if _is_music(table[n])]
        raise SeqkitError(f"unknown tokenizer {name!r}{_close(name, music)} (music tokenizers: "
                          f"{', '.join(sorted(music)) or 'none'})")
    cls = get_tokenizer_type(name).resolve()
    missing = [m for m in TOKENIZER_NEEDS if not hasattr(cls, m)]
    if missing:
        raise SeqkitError(f"tokenizer {name!r} is not a music tokenizer (it has no {', '.join(missing)})")
    return cls


def _is_music(tt) -> bool:
    try:
        cls = tt.resolve()
    except Exception:  # noqa: BLE001 - a broken plugin module: just not listed
        return False
    return all(hasattr(cls, m) for m in TOKENIZER_NEEDS)


def learns_vocabulary_class(cls) -> bool:
    return hasattr(cls, "build") and hasattr(cls, "steps")


def tokenizer_settings(cls) -> dict[str, inspect.Parameter]:
    """What ``--tokenizer-option`` may set: keyword parameters of ``__init__`` (and of ``build``
    for a tokenizer whose vocabulary is learned)."""
    params = keyword_params(cls.__init__)
    if learns_vocabulary_class(cls):
        params.update(keyword_params(cls.build))
    return params


def training_tokenizer(name: str | None, options: dict, drums: bool = False):
    """The tokenizer for ``music train``/``tokenize``: an instance (fixed vocabulary) or a
    ``VocabularyBuilder`` (the vocabulary is learned from the train split)."""
    from .token_cache import VocabularyBuilder

    name = name or "performance"
    cls = tokenizer_class(name)
    params = tokenizer_settings(cls)
    if drums:
        if "drums" not in params:
            raise SeqkitError(f"--drums: tokenizer {name!r} has no drums setting")
        options = {**options, "drums": True}
    settings = parse_options(options, params, "--tokenizer-option", f"tokenizer {name!r}")
    if learns_vocabulary_class(cls):
        return VocabularyBuilder(cls, settings)
    try:
        return cls(**settings)
    except (TypeError, ValueError) as exc:
        raise SeqkitError(f"tokenizer {name!r}: {exc}") from None


def tokenizer_type(tok) -> str:
    return getattr(tok, "type", type(tok).__name__)


# -- corpus --------------------------------------------------------------------------------------

def open_corpus(data: Path, dataset: str | None = "auto", tokenizer=None, options: dict | None = None,
                splits=None, limit: int = 0, workers: int | None = None, strict: bool = True):
    """``(MusicCorpus, dataset name, options)`` through the registry.

    A loader that takes ``tokenizer`` returns a ``MusicCorpus`` (the built-in ones); any other
    returns the MIDI files it selected (a list of paths, or an object with ``paths``), which are
    split (seeded 80/10/10), tokenized and cached here. ``strict``: a token archive made with
    another tokenizer than ``tokenizer`` is an error.
    """
    from seqkit import info

    from .corpus import MusicCorpus
    from .loaders import load_paths
    from .token_cache import VocabularyBuilder

    data = Path(data)
    if not data.exists():
        raise SeqkitError(f"no such data folder or archive: {data}")
    name = detect_dataset(data) if dataset in (None, "auto") else dataset
    dt = music_dataset(name)
    name = dt.name
    load = dt.resolve()
    opts = dataset_options(name, options or {})
    accepted = inspect.signature(load).parameters
    internal = {"tokenizer": tokenizer, "splits": splits, "limit": limit, "workers": workers}
    kwargs = {k: v for k, v in internal.items() if k in accepted}
    result = load(data, **kwargs, **opts)
    if isinstance(result, MusicCorpus) or (hasattr(result, "pieces") and hasattr(result, "dataset")):
        corpus = result
        if strict and tokenizer is not None:
            want = tokenizer.type if isinstance(tokenizer, VocabularyBuilder) else tokenizer_type(tokenizer)
            have = tokenizer_type(corpus.tokenizer)
            if want != have:
                raise SeqkitError(f"{data} was tokenized with the {have} tokenizer, not {want}")
            if not isinstance(tokenizer, VocabularyBuilder) and corpus.tokenizer.to_dict() != tokenizer.to_dict():
                raise SeqkitError(f"{data} was tokenized with other {have} settings or vocabulary than this model's")
        return corpus, name, opts
    paths = list(getattr(result, "paths", result) or [])
    skipped = getattr(result, "skipped", None)
    if not paths:
        given = ", ".join(f"{k}={v}" for k, v in opts.items())
        found = getattr(result, "n_files", None)
        raise SeqkitError(f"dataset {name!r} selected no MIDI files in {data}"
                          + (f" with {given}" if given else "")
                          + (f" ({found} files, {len(skipped or [])} unreadable)" if found is not None else ""))
    if skipped:
        info(f"{name}: skipped {len(skipped)} unreadable MIDI file(s)")
    info(f"{name}: {len(paths)} MIDI files selected in {data}")
    corpus = load_paths(paths, tokenizer, source=str(data), root=getattr(result, "root", None),
                        splits=splits, workers=workers, limit=limit)
    return corpus, name, opts
