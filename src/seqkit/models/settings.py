"""Model settings: the checks every config makes, and the old spellings that keep working for
one release.

:func:`check_sizes` refuses sizes below 1 or above a bound and a dropout outside [0, 1) with a
``ValueError`` that names the setting (``ModelType.make_config`` turns it into one ``Error:`` line).

A config dataclass lists its old keys in ``RENAMED`` (old -> new) and takes each as an
``InitVar``; :func:`renamed_setting` moves the value with a one-line deprecation. Checkpoints
written with an old key load silently (``ModelType.make_config`` renames before building).
"""

from __future__ import annotations

import sys

_warned: set[tuple[str, str]] = set()


def renamed_setting(config, old: str, old_value, new: str, new_value):
    """The value of ``new`` once ``old`` (an InitVar, ``None`` when not given) is folded in."""
    if old_value is None:
        return new_value
    key = (type(config).__name__, old)
    if key not in _warned:
        _warned.add(key)
        print(f"Warning: the model setting {old!r} of {type(config).__name__} is deprecated; use {new!r}",
              file=sys.stderr)
    return old_value


def fold_renamed(config_class, values: dict, warn: bool = False) -> dict:
    """``values`` with every old key of ``config_class.RENAMED`` under its new name (the new one
    wins where both are given); ``warn`` prints the one-line deprecation (settings a user typed)."""
    renamed = getattr(config_class, "RENAMED", {})
    if not any(k in values for k in renamed):
        return values
    values = dict(values)
    for old, new in renamed.items():
        if old in values:
            value = values.pop(old)
            values.setdefault(new, value)
            if warn:
                print(f"Warning: the model setting {old!r} is deprecated; use {new!r}", file=sys.stderr)
    return values


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
