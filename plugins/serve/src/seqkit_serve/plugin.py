"""Hook implementation of the serve plugin. Cheap to import: no FastAPI, no torch."""

from __future__ import annotations

from seqkit import hookimpl


@hookimpl
def register_commands(app):
    from .commands import serve

    app.command("serve")(serve)
