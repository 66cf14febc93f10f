"""A loaded numerals checkpoint that writes numbers as words, in batches, greedily."""

from __future__ import annotations

from dataclasses import dataclass

from seqkit import CheckpointError, SeqkitError

from .data import source_text

TASK = "numerals"


@dataclass
class Translator:
    model: object
    src_tok: object
    tgt_tok: object
    spec: object  # DataSpec the model was trained on
    name: str
    path: object
    device: object
    backend: str = "torch"  # "onnx": model is a seqkit.generation.OnnxSeq2Seq

    @classmethod
    def load(cls, spec: str, device: str = "cpu") -> Translator:
        """From a checkpoint name (``gru``, ``transformer``, a user's own) or a ``.json`` path."""
        from seqkit import find_checkpoint, load_for_inference, tokenizer_from_dict

        from .data import DataSpec

        path = find_checkpoint(spec, TASK)
        dev = str(device).strip().lower()
        dev = dev if dev in ("cpu", "auto") else _pick_device(device)  # load_for_inference resolves auto
        ckpt = load_for_inference(path, device=dev, expect_task=TASK)
        extra = ckpt.extra
        try:
            src_tok = tokenizer_from_dict(extra["src_tokenizer"])
            data = DataSpec.from_dict(ckpt.meta["data"])
        except (KeyError, TypeError, AttributeError, SeqkitError) as exc:
            raise CheckpointError(f"{path} is not a numerals checkpoint (no source tokenizer or data: {exc})") from None
        if ckpt.tokenizer is None:
            raise CheckpointError(f"{path} has no target tokenizer")
        config = ckpt.model.config
        for side, tok, size in (("source", src_tok, config.src_vocab), ("target", ckpt.tokenizer, config.tgt_vocab)):
            if tok.vocab_size != size:
                raise CheckpointError(f"{path}: its {side} tokenizer has {tok.vocab_size} tokens but the model "
                                      f"was built for {size}")
        if ckpt.backend == "torch":  # where load_for_inference put it (``auto`` resolved)
            dev = next(ckpt.model.parameters()).device
        return cls(ckpt.model, src_tok, ckpt.tokenizer, data, path.stem, path, dev, ckpt.backend)

    @property
    def lang(self) -> str:
        return self.spec.lang

    def max_len_for(self, n_chars: int) -> int:
        """Output budget: generous for the number's length, capped by the model's max_len."""
        return min(8 * n_chars + 16, getattr(self.model.config, "max_len", 10_000) - 1)

    def words(self, numbers: list[int], batch_size: int = 512) -> list[str]:
        """The model's words for each number, in order."""
        if self.backend == "onnx":  # rows grouped by length: the graphs take no padding
            srcs = [self.src_tok.encode(source_text(n)) for n in numbers]
            ids = self.model.greedy_decode_rows(srcs, self.max_len_for, self.tgt_tok.bos_id,
                                                self.tgt_tok.eos_id, batch_size)
            return [self.tgt_tok.decode(row) for row in ids]
        import torch

        from seqkit import pad_sequences

        order = sorted(range(len(numbers)), key=lambda i: len(source_text(numbers[i])))
        out: list[str] = [""] * len(numbers)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                srcs = [self.src_tok.encode(source_text(numbers[i])) for i in idx]
                src = pad_sequences(srcs, self.src_tok.pad_id).to(self.device)
                ids = self.model.greedy_decode(src, self.max_len_for(src.size(1)),
                                               self.tgt_tok.bos_id, self.tgt_tok.eos_id)
                for i, row in zip(idx, ids.tolist()):
                    out[i] = self.tgt_tok.decode(row)
        return out


def _pick_device(device: str):
    from seqkit import pick_device

    return pick_device(device)
