"""seqkit hooks for the abc plugin (no torch, music21 or matplotlib imports here)."""

from pathlib import Path

from seqkit import DatasetType, Task, hookimpl


@hookimpl
def register_tasks(register):
    register(Task("abc", "folk tunes in ABC notation, one character at a time (LSTM/GRU/RNN)",
                  checkpoints=Path(__file__).parent / "checkpoints"))


@hookimpl
def register_datasets(register):
    register(DatasetType("abc-tunes", "seqkit_abc.data:load_tunes",
                         "ABC tunes: course <start>/<end> files, .abc files or folders of them",
                         task="abc"))


@hookimpl
def register_commands(app):
    from .commands import abc_app

    app.add_typer(abc_app, name="abc")


@hookimpl
def register_generators(register):
    from .generator import ABC

    register(ABC)
