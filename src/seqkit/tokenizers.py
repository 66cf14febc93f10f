"""Tokenizers: text (or anything) to integer ids and back, saved as JSON.

The protocol every tokenizer follows (core's and plugins'):

* ``type``: the registered tokenizer type name (class attribute)
* ``vocab_size``; ``pad_id``, ``bos_id``, ``eos_id``, ``unk_id`` (``None`` when absent)
* ``encode(x, add_bos=False, add_eos=False) -> list[int]`` and ``decode(ids) -> x``
* ``to_dict() -> dict`` (JSON-safe, includes ``"type"``) and ``from_dict(d)`` (classmethod)
"""

from __future__ import annotations

from typing import Iterable, Protocol, runtime_checkable

from .errors import SeqkitError

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
DEFAULT_SPECIALS = (PAD, BOS, EOS, UNK)


@runtime_checkable
class Tokenizer(Protocol):
    type: str
    vocab_size: int
    pad_id: int | None
    bos_id: int | None
    eos_id: int | None

    def encode(self, x, add_bos: bool = False, add_eos: bool = False) -> list[int]: ...

    def decode(self, ids: Iterable[int]): ...

    def to_dict(self) -> dict: ...


class _VocabTokenizer:
    """Shared machinery: a list of special tokens followed by the ordinary symbols."""

    type = ""
    joiner = ""

    def __init__(self, symbols: Iterable[str], specials: Iterable[str] = DEFAULT_SPECIALS):
        self.specials = list(specials)
        self.symbols = [s for s in symbols if s not in self.specials]
        self.itos = self.specials + self.symbols
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise SeqkitError(f"{self.type} tokenizer: duplicate symbols in vocabulary")
        self.pad_id = self.stoi.get(PAD)
        self.bos_id = self.stoi.get(BOS)
        self.eos_id = self.stoi.get(EOS)
        self.unk_id = self.stoi.get(UNK)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def split(self, text: str) -> list[str]:
        raise NotImplementedError

    def unknown(self, text: str) -> list[str]:
        """The symbols of ``text`` that are not in the vocabulary, in order of appearance."""
        seen: dict[str, None] = {}
        for s in self.split(text):
            if s not in self.stoi:
                seen.setdefault(s)
        return list(seen)

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        ids = []
        for s in self.split(text):
            i = self.stoi.get(s, self.unk_id)
            if i is None:
                missing = ", ".join(repr(u) for u in self.unknown(text))
                raise SeqkitError(f"not in the {self.type} vocabulary: {missing}")
            ids.append(i)
        if add_bos and self.bos_id is not None:
            ids.insert(0, self.bos_id)
        if add_eos and self.eos_id is not None:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int], skip_special: bool = True, stop_at_eos: bool = True) -> str:
        out = []
        n_special = len(self.specials)
        for i in ids:
            i = int(i)
            if stop_at_eos and i == self.eos_id:
                break
            if skip_special and i < n_special:
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else "")
        return self.joiner.join(out)

    def to_dict(self) -> dict:
        return {"type": self.type, "specials": self.specials, "symbols": self.symbols}

    @classmethod
    def from_dict(cls, d: dict):
        return cls(d["symbols"], d.get("specials", DEFAULT_SPECIALS))

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


class CharTokenizer(_VocabTokenizer):
    """One token per character."""

    type = "char"
    joiner = ""

    def split(self, text: str) -> list[str]:
        return list(text)

    @classmethod
    def build(cls, texts: Iterable[str], specials: Iterable[str] = DEFAULT_SPECIALS):
        chars = sorted({c for t in texts for c in t})
        return cls(chars, specials)


class WordTokenizer(_VocabTokenizer):
    """Whitespace-separated words; optionally ``split_chars`` are also tokens of their own
    (``"twenty-one"`` -> ``twenty``, ``-``, ``one`` with ``split_chars="-"``)."""

    type = "word"

    def __init__(self, symbols, specials=DEFAULT_SPECIALS, split_chars: str = ""):
        self.split_chars = split_chars
        super().__init__(symbols, specials)

    def split(self, text: str) -> list[str]:
        for ch in self.split_chars:
            text = text.replace(ch, f" {ch}\x00 ")
        return [w for w in text.split() if w]

    def decode(self, ids, skip_special: bool = True, stop_at_eos: bool = True) -> str:
        words = super().decode(ids, skip_special, stop_at_eos).split("\x01")
        text = " ".join(words)
        for ch in self.split_chars:
            text = text.replace(f" {ch}\x00 ", ch).replace(f"{ch}\x00", ch)
        return text

    @property
    def joiner(self):  # type: ignore[override]
        return "\x01"

    def to_dict(self) -> dict:
        return {**super().to_dict(), "split_chars": self.split_chars}

    @classmethod
    def from_dict(cls, d: dict):
        return cls(d["symbols"], d.get("specials", DEFAULT_SPECIALS), d.get("split_chars", ""))

    @classmethod
    def build(cls, texts, specials=DEFAULT_SPECIALS, split_chars: str = "", min_count: int = 1):
        from collections import Counter

        probe = cls([], specials, split_chars)
        counts = Counter(w for t in texts for w in probe.split(t))
        words = sorted(w for w, c in counts.items() if c >= min_count)
        return cls(words, specials, split_chars)


def tokenizer_from_dict(d: dict):
    """Rebuild any registered tokenizer from its ``to_dict()``."""
    from .registry import get_tokenizer_type

    if not isinstance(d, dict) or "type" not in d:
        raise SeqkitError("tokenizer description has no 'type'")
    return get_tokenizer_type(d["type"]).resolve().from_dict(d)
