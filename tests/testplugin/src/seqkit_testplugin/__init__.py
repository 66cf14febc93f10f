"""A tiny plugin for seqkit's tests: a task, a tokenizer type and a command."""

import typer

from seqkit import Task, TokenizerType, hookimpl


@hookimpl
def register_tasks(register):
    register(Task("echo", "repeats what it is given (test plugin)"))


@hookimpl
def register_tokenizers(register):
    register(TokenizerType("test-char", "seqkit.tokenizers:CharTokenizer", "alias of char, for tests"))


@hookimpl
def register_commands(app):
    @app.command(name="echo")
    def echo(text: str):
        """Print TEXT back (test plugin)."""
        typer.echo(text)
