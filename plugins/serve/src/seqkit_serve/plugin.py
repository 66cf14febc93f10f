"""Hook implementation of the serve plugin. Cheap to import: no FastAPI, no torch; the command is
built only when `seqkit serve` runs."""

from __future__ import annotations

from seqkit import LazyCommand, hookimpl


@hookimpl
def register_lazy_commands(register):
    register(LazyCommand("serve", "seqkit_serve.commands:serve", "A local web page over every generator"))
