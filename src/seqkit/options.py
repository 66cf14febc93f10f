"""Shared Typer option types, so every command spells its options the same way.

    from seqkit.options import DeviceOption, SeedOption
    def generate(device: DeviceOption = "auto", seed: SeedOption = None): ...

They are built from core's shared :class:`~seqkit.Param` declarations (``seed_param``,
``device_param`` ... in ``seqkit.generation``), from which the generate, train and eval kits build
theirs: one spelling, one help text and one check (the same ``Error:`` line) everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqkit.cli.generate import param_option
from seqkit.generation.generator import (
    SEED_MAX,
    json_param,
    model_param,
    seed_param,
    temperature_param,
    threads_param,
)
from seqkit.generation.generator import device_param as _device_param

__all__ = ["SeedOption", "DeviceOption", "TemperatureOption", "JsonOption", "ModelOption",
           "ThreadsOption", "OutOption", "DataOption", "seed_option", "check_seed", "set_threads",
           "seed_everything"]


def seed_option(help: str = ""):
    """A ``--seed`` option taking 0 to ``SEED_MAX`` (a larger one is one ``Error:`` line, not a
    traceback), with ``help`` in place of the shared one; ``SeedOption`` is
    ``Annotated[int | None, seed_option()]``."""
    overrides = {"help": help} if help else {}
    return param_option(seed_param(**overrides), check=True).__metadata__[0]


def check_seed(seed) -> int:
    """``seed`` if it is a whole number from 0 to ``SEED_MAX``, else a :class:`SeqkitError`."""
    from seqkit.errors import SeqkitError

    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        shown = repr(seed) if len(repr(seed)) <= 40 else repr(seed)[:40] + "..."
        raise SeqkitError(f"a seed must be a whole number from 0 to {SEED_MAX}, not {shown}")
    return seed


# Built from core's shared parameters (seqkit.generation): the same flags, help and checks as the
# generate, train and eval kits' options.
DeviceOption = param_option(_device_param(), check=True)
SeedOption = param_option(seed_param(), check=True)
TemperatureOption = param_option(temperature_param(), check=True)
JsonOption = param_option(json_param(), check=True)
ModelOption = param_option(model_param(), check=True)
ThreadsOption = param_option(threads_param(for_torch=True), check=True)
OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Where to write the output.")]
DataOption = Annotated[Path | None, typer.Option("--data", help="Data folder or file.")]


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

