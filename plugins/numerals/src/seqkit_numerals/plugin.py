"""seqkit hooks for the numerals plugin (no torch or num2words imports here)."""

from pathlib import Path

from seqkit import DatasetType, Task, hookimpl


@hookimpl
def register_tasks(register):
    register(Task("numerals", "numbers written as words (seq2seq, trained on num2words)",
                  checkpoints=Path(__file__).parent / "checkpoints"))


@hookimpl
def register_datasets(register):
    register(DatasetType("num2words", "seqkit_numerals.data:load_dataset",
                         "distinct integers and their num2words text, split train/val/test",
                         task="numerals"))


@hookimpl
def register_commands(app):
    from .commands import num2words_command, numerals_app

    # ignore_unknown_options lets negative numbers through as arguments: seqkit num2words -5
    app.command("num2words", context_settings={"ignore_unknown_options": True})(num2words_command)
    app.add_typer(numerals_app, name="numerals")


@hookimpl
def register_generators(register):
    from .generator import NUM2WORDS

    register(NUM2WORDS)
