"""seqkit hooks for the numerals plugin (no torch or num2words imports here)."""

from pathlib import Path

from seqkit import LazyCommand, Task, hookimpl


@hookimpl
def register_tasks(register):
    register(Task("numerals", "numbers written as words (seq2seq, trained on num2words)",
                  checkpoints=Path(__file__).parent / "checkpoints"))


@hookimpl
def register_lazy_commands(register):
    # ignore_unknown_options lets negative numbers through as arguments: seqkit num2words -5
    register(LazyCommand("num2words", "seqkit_numerals.commands:num2words_command",
                         "Numbers in words: num2words 101001001001",
                         context_settings={"ignore_unknown_options": True}))
    register(LazyCommand("numerals", "seqkit_numerals.commands:numerals_app",
                         "Number-words data, training and evaluation"))


@hookimpl
def register_generators(register):
    from .generator import NUM2WORDS

    register(NUM2WORDS)
