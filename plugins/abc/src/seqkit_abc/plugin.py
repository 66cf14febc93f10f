"""seqkit hooks for the abc plugin (no torch, music21 or matplotlib imports here)."""

from pathlib import Path

from seqkit import LazyCommand, Task, hookimpl


@hookimpl
def register_tasks(register):
    register(Task("abc", "folk tunes in ABC notation, one character at a time (LSTM/GRU/RNN)",
                  checkpoints=Path(__file__).parent / "checkpoints"))


@hookimpl
def register_lazy_commands(register):
    # built only when used: `seqkit --help` shows the line and imports nothing
    register(LazyCommand("abc", "seqkit_abc.commands:abc_app",
                         "Folk tunes in ABC notation: generate, train, to-midi"))


@hookimpl
def register_generators(register):
    from .generator import ABC

    register(ABC)
