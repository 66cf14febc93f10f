"""Tokenizers: text (or anything) to integer ids and back, saved as JSON.

The protocol every tokenizer follows (core's and plugins'):

* ``type``: the registered tokenizer type name (class attribute)
* ``vocab_size``; ``pad_id``, ``bos_id``, ``eos_id``, ``unk_id`` (``None`` when absent)
* ``encode(x, add_bos=False, add_eos=False) -> list[int]`` and ``decode(ids) -> x``
* ``to_dict() -> dict`` (JSON-safe, includes ``"type"``) and ``from_dict(d)`` (classmethod)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from seqkit.errors import SeqkitError

__all__ = ["Tokenizer", "CharTokenizer", "WordTokenizer", "tokenizer_from_dict"]

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
    """Whitespace-separated words. Each of ``split_chars`` becomes a token of its own that
    remembers the spacing around it, so decoding restores the text exactly:
    ``"twenty-one"`` -> ``twenty``, ``-``, ``one``; ``"billion, one"`` -> ``billion``, ``,▁``, ``one``
    (``▁`` marks a space after the character; a leading ``▁`` a space before it).
    """

    type = "word"
    SPACE = "\u2581"

    def __init__(self, symbols, specials=DEFAULT_SPECIALS, split_chars: str = ""):
        self.split_chars = split_chars
        super().__init__(symbols, specials)

    def split(self, text: str) -> list[str]:
        if not self.split_chars:
            return text.split()
        out: list[str] = []
        word = ""
        for i, ch in enumerate(text):
            if ch in self.split_chars:
                if word:
                    out.append(word)
                    word = ""
                before = self.SPACE if i > 0 and text[i - 1].isspace() and out else ""
                after = self.SPACE if i + 1 < len(text) and text[i + 1].isspace() else ""
                out.append(before + ch + after)
            elif ch.isspace():
                if word:
                    out.append(word)
                    word = ""
            else:
                word += ch
        if word:
            out.append(word)
        return out

    def _is_split(self, token: str) -> bool:
        core = token.strip(self.SPACE)
        return len(core) == 1 and core in self.split_chars

    def decode(self, ids, skip_special: bool = True, stop_at_eos: bool = True) -> str:
        n_special = len(self.specials)
        text = ""
        space = False  # whether the next word needs a space before it
        for i in ids:
            i = int(i)
            if stop_at_eos and i == self.eos_id:
                break
            if (skip_special and i < n_special) or not 0 <= i < len(self.itos):
                continue
            token = self.itos[i]
            if self.split_chars and self._is_split(token):
                if token.startswith(self.SPACE) and text:
                    text += " "
                text += token.strip(self.SPACE)
                space = token.endswith(self.SPACE)
            else:
                text += (" " if text and space else "") + token
                space = True
        return text

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
    from seqkit.host.plugins import get_tokenizer_type

    if not isinstance(d, dict) or "type" not in d:
        raise SeqkitError("tokenizer description has no 'type'")
    return get_tokenizer_type(d["type"]).resolve().from_dict(d)
