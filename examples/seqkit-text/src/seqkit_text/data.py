"""Reading a corpus and cutting it into training windows."""

from __future__ import annotations

from pathlib import Path

from seqkit import SeqkitError


def read_text(path) -> str:
    """A whole UTF-8 text file (line endings normalised to \\n), with clear errors."""
    path = Path(path)
    if path.is_dir():
        raise SeqkitError(f"{path} is a folder; give a text file")
    if not path.exists():
        raise SeqkitError(f"{path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SeqkitError(f"{path} is not UTF-8 text (byte {exc.start}); convert it first") from None
    if not text:
        raise SeqkitError(f"{path} is empty")
    return text


class Windows:
    """Map-style dataset of ``context + 1``-token windows over one long id sequence.

    Item ``i`` starts at ``i * stride``: ``{"input": ids[s : s+context], "target": ids[s+1 :
    s+context+1]}``, the batch format of ``seqkit.lm_loss``. Every item has the same length, so
    the Trainer's default collate stacks them.
    """

    def __init__(self, ids, context: int, stride: int | None = None):
        import torch

        self.ids = torch.as_tensor(ids, dtype=torch.long)
        self.context = context
        self.stride = stride or context

    def __len__(self) -> int:
        n = len(self.ids) - self.context - 1
        return 0 if n < 0 else n // self.stride + 1

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self):
            raise IndexError(i)
        s = i * self.stride
        chunk = self.ids[s : s + self.context + 1]
        return {"input": chunk[:-1], "target": chunk[1:]}


def windows(text: str, tokenizer, context: int, stride: int | None = None, what: str = "text") -> Windows:
    """:class:`Windows` over ``text``, or a clear error when it is shorter than one window."""
    ids = tokenizer.encode(text)
    ds = Windows(ids, context, stride)
    if len(ds) == 0:
        raise SeqkitError(f"the {what} has {len(ids)} tokens, fewer than one window of "
                          f"{context + 1}; use a longer text or a smaller --context")
    return ds
