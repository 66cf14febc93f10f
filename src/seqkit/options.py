"""Shared Typer option types, so every command spells its options the same way.

    from seqkit.options import DeviceOption, SeedOption
    def generate(device: DeviceOption = "auto", seed: SeedOption = None): ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SEED_MAX = 2**63 - 1  # what every random generator seqkit seeds accepts


def seed_option(help: str = "Random seed, for reproducible results."):
    """A ``--seed`` option taking 0 to ``SEED_MAX`` (a larger one is a usage error, not a
    traceback); ``SeedOption`` is ``Annotated[int | None, seed_option()]``."""
    return typer.Option("--seed", min=0, max=SEED_MAX, help=help)


def check_seed(seed) -> int:
    """``seed`` if it is a whole number from 0 to ``SEED_MAX``, else a :class:`SeqkitError`."""
    from .errors import SeqkitError

    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        shown = repr(seed) if len(repr(seed)) <= 40 else repr(seed)[:40] + "..."
        raise SeqkitError(f"a seed must be a whole number from 0 to {SEED_MAX}, not {shown}")
    return seed


DeviceOption = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")]
SeedOption = Annotated[int | None, seed_option()]
TemperatureOption = Annotated[float, typer.Option("--temperature", "-t", min=0.0,
                                                  help="Sampling temperature, finite (0 = greedy).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Where to write the output.")]
DataOption = Annotated[Path | None, typer.Option("--data", help="Data folder or file.")]
ModelOption = Annotated[str | None, typer.Option("--model", "-m", help="Model name or checkpoint path.")]
ThreadsOption = Annotated[int, typer.Option(
    "--threads", min=0, help="CPU threads for torch (0 = torch's default; 1 is often faster on a busy machine).")]


def set_threads(n: int) -> None:
    """``torch.set_num_threads(n)`` for a ``--threads`` value (0 leaves torch's default)."""
    if n:
        import torch

        torch.set_num_threads(n)


def seed_everything(seed: int | None) -> None:
    """Seed Python, NumPy and torch (a no-op for ``None``)."""
    if seed is None:
        return
    check_seed(seed)
    import random

    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:  # pragma: no cover
        pass
    import torch

    torch.manual_seed(seed)

