"""A byte-level tokenizer: any UTF-8 text, no unknown symbols, a fixed vocabulary of 259."""

from __future__ import annotations


class ByteTokenizer:
    """Ids 0-255 are the bytes of the UTF-8 encoding; 256, 257, 258 are <pad>, <bos>, <eos>."""

    type = "bytes"
    pad_id, bos_id, eos_id, unk_id = 256, 257, 258, None
    vocab_size = 259

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        ids = list(text.encode("utf-8"))
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def decode(self, ids, stop_at_eos: bool = True) -> str:
        out = bytearray()
        for i in ids:
            i = int(i)
            if stop_at_eos and i == self.eos_id:
                break
            if i < 256:
                out.append(i)
        return out.decode("utf-8", errors="replace")  # a sample may stop inside a character

    def unknown(self, text: str) -> list[str]:
        return []

    def to_dict(self) -> dict:
        return {"type": self.type}

    @classmethod
    def from_dict(cls, d: dict) -> ByteTokenizer:
        return cls()

    def __repr__(self) -> str:
        return "ByteTokenizer(vocab_size=259)"
