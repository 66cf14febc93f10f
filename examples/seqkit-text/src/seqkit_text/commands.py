"""`seqkit text train | generate | eval`. torch is imported inside the commands only."""

from __future__ import annotations

import typer

from seqkit import eval_command, generator_command, train_command

from .evaluation import TEXT_EVAL
from .generator import TEXT, show
from .training import TEXT_TRAINING

app = typer.Typer(help="Character-level language models of any UTF-8 text (example plugin).",
                  no_args_is_help=True)


app.command("train")(train_command(TEXT_TRAINING))
app.command("eval")(eval_command(TEXT_EVAL))
app.command("generate")(generator_command(TEXT, show=show))
