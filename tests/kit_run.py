"""A ``seqkit kit train`` process that a test can interrupt at known points.

    python tests/kit_run.py OUT SAVE [train options ...]

It runs the real command line (``seqkit kit train --out OUT --save SAVE ...``) with a tiny task:
a GRU on a tiny corpus, 400 steps of about 20 ms, an evaluation every 2 steps. It writes marker
files beside OUT so that a test synchronises on events, not on guessed times: ``OUT.ready`` after
the first evaluation; ``OUT.exporting`` when training has returned and the export begins, where
it waits until ``OUT.go`` exists (at most a minute).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    out, save, rest = Path(argv[0]), argv[1], argv[2:]
    import typer

    import seqkit
    from seqkit import Arch, Prepared, TrainRecipe, hookimpl
    from seqkit.testing import cli_app, registered

    def prepare(run):
        from seqkit import CharTokenizer, lm_loss
        from seqkit.testing import lm_collate, lm_items, tiny_corpus

        lines = tiny_corpus(40).splitlines()
        tok = CharTokenizer.build(lines)
        items = lm_items(lines, tok)

        def slow_loss(model, batch):
            if model.training:
                time.sleep(0.02)
            return lm_loss(model, batch)

        def ready(row):
            Path(f"{out}.ready").touch()

        def metrics(result):  # called after fit() returns, before the export
            Path(f"{out}.exporting").touch()
            end = time.time() + 60
            while not Path(f"{out}.go").exists() and time.time() < end:
                time.sleep(0.01)
            return {}

        return Prepared(items[:32], items[32:], config={"vocab_size": tok.vocab_size}, tokenizer=tok,
                        collate=lm_collate(tok.pad_id), loss_fn=slow_loss, on_eval=ready, metrics=metrics)

    recipe = TrainRecipe(task="kit", prepare=prepare,
                         archs={"gru": Arch("rnn-lm", {"cell": "gru", "hidden": 16, "n_embd": 8})},
                         train={"steps": 400, "batch_size": 8, "lr": 1e-2, "eval_every": 2})

    class KitPlugin:
        @hookimpl
        def register_tasks(self, register):
            register(seqkit.Task("kit", "a test task"))

        @hookimpl
        def register_commands(self, app):
            kit = typer.Typer()
            kit.command("train")(seqkit.train_command(recipe))
            app.add_typer(kit, name="kit")

    with registered(KitPlugin()):
        app = cli_app()
    return app(["kit", "train", "--out", str(out), "--save", save, "--device", "cpu", *rest],
               prog_name="seqkit")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
