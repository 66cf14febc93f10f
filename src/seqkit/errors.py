"""User-facing errors.

Raise :class:`SeqkitError` for anything a user can fix (bad input, missing file, corrupt
checkpoint). The CLI prints ``Error: <message>`` on one line and exits with code 2; no traceback.
"""

from __future__ import annotations


class SeqkitError(Exception):
    """A problem the user can fix. The message is shown as is, on one line."""

    exit_code = 2


class CheckpointError(SeqkitError):
    """A checkpoint is missing, truncated, corrupt or incompatible."""


class PluginConflictError(SeqkitError):
    """Two plugins registered the same name."""


def debug_enabled() -> bool:
    """``SEQKIT_DEBUG`` set to anything but empty, ``0``, ``false``, ``no`` or ``off``: show
    tracebacks instead of one ``Error:`` line."""
    import os

    return os.environ.get("SEQKIT_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")
