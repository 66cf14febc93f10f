"""Loading an abc model (a checkpoint of core's ``rnn-lm``, or its ONNX graphs) and the random
numbers its sampler draws: what ``generate``, ``eval`` and ``heatmap`` share. No torch at import."""

from __future__ import annotations

from seqkit import SeqkitError


def load_abc_model(model: str, device: str, backend: str = "auto", threads: int | None = None,
                   batch: int = 1):
    """``(checkpoint, device)``. ``backend="auto"``: on ONNX Runtime where the checkpoint has
    graphs and the device is the CPU (``ckpt.backend == "onnx"``, no torch imported), else torch;
    ``"torch"``: always torch. ``threads``: intra-op threads (``seqkit.generation.inference.pick_threads``)."""
    from seqkit import find_checkpoint, load_checkpoint, load_for_inference, pick_device

    path = find_checkpoint(model, "abc")
    if backend == "auto" and str(device).strip().lower() in ("cpu", "auto"):
        ckpt = load_for_inference(path, str(device).strip().lower(), expect_task="abc", threads=threads,
                                  batch=batch)
        dev = "cpu" if ckpt.backend == "onnx" else next(ckpt.model.parameters()).device
    else:
        dev = pick_device(device)
        ckpt = load_checkpoint(path, device=dev, expect_task="abc")
    if ckpt.tokenizer is None or not hasattr(ckpt.tokenizer, "unknown"):
        raise SeqkitError(f"{path} is not a character-level abc model")
    vocab = getattr(ckpt.model.config, "vocab_size", None)
    if vocab is not None and ckpt.tokenizer.vocab_size != vocab:
        raise SeqkitError(f"{path}: its tokenizer has {ckpt.tokenizer.vocab_size} characters but the model "
                          f"was built for {vocab}")
    return ckpt, dev


def torch_generator(seed: int | None, device):
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(seed if seed is not None else torch.seed())
    return g


def sampling_rng(ckpt, seed: int | None, device):
    """The sampler's random numbers for ``ckpt``'s backend: a numpy ``Generator`` on ONNX Runtime
    (so a seed gives other tunes than on torch: docs/abc.md), else a ``torch.Generator``."""
    if getattr(ckpt, "backend", "torch") == "onnx":
        import numpy as np

        return np.random.default_rng(seed)
    return torch_generator(seed, device)
