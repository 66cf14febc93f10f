"""Model settings: the checks every config makes.

:func:`check_sizes` refuses sizes below 1 or above a bound and a dropout outside [0, 1) with a
``ValueError`` that names the setting (``ModelType.make_config`` turns it into one ``Error:`` line).
"""

from __future__ import annotations

MAX_SIZE = 1 << 24  # any one size (a width, a vocabulary, a context): 16,777,216
MAX_LAYERS = 1024  # a count of layers (a setting named *layer*)


def check_sizes(config, *names: str) -> None:
    """A ``ValueError`` naming the first of ``names`` that is not an integer of at least 1 (and at
    most ``MAX_SIZE``, or ``MAX_LAYERS`` for a count of layers, so that a typo is one line, not an
    allocation of terabytes), or a ``dropout`` outside [0, 1) (where the config has one); every
    core config and the names and music configs call it."""
    from numbers import Integral, Real

    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise ValueError(f"{name} must be an integer, not {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be at least 1, not {value}")
        limit = MAX_LAYERS if "layer" in name else MAX_SIZE
        if value > limit:
            raise ValueError(f"{name} must be at most {limit:,}, not {value:,}")
    dropout = getattr(config, "dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, Real) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), not {dropout!r}")
