"""Device choice: ``auto`` takes CUDA when present, then Apple's MPS, else the CPU."""

from __future__ import annotations

import re

from seqkit.errors import SeqkitError

DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps"


def pick_device(spec: str | None = "auto"):
    """A ``torch.device`` for ``auto|cpu|cuda[:N]|mps``, with a clear error when unavailable."""
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    m = re.fullmatch(r"cuda(?::(\d+))?", spec)
    if m:
        if not torch.cuda.is_available():
            raise SeqkitError("--device cuda asked for, but no CUDA GPU is available (try --device cpu)")
        index = int(m.group(1) or 0)
        if index >= torch.cuda.device_count():
            raise SeqkitError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) present")
        return torch.device("cuda", index)
    if spec == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise SeqkitError("--device mps asked for, but MPS is not available")
        return torch.device("mps")
    raise SeqkitError(f"unknown device {spec!r}; use {DEVICE_HELP}")
