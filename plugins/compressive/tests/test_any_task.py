"""The compressive model on a task that is not music: core's train kit trains it on windows and on
streams (memories carried by the Trainer), with seqkit and this plugin alone."""

from __future__ import annotations

import json
import math

import pytest
import torch
import typer

from seqkit import (
    Arch,
    CharTokenizer,
    LazyCommand,
    Param,
    Prepared,
    TokenStreams,
    TrainRecipe,
    generate,
    hookimpl,
    load_checkpoint,
    stream_evaluator,
    train_command,
)
from seqkit.testing import isolate_dirs, lm_collate, lm_items, run_cli, tiny_corpus

TINY = {"n_layer": 1, "n_head": 2, "n_embd": 32, "seg_len": 8, "mem_len": 8, "cmem_len": 4, "cmem_ratio": 2}


def prepare(run) -> Prepared:
    """Lines of a tiny corpus: padded windows, or (option ``streams``) streams of 16 tokens."""
    lines = tiny_corpus(48).splitlines()
    tok = CharTokenizer.build(lines)
    train, val = lines[:40], lines[40:]
    fixed = {"vocab_size": tok.vocab_size}
    if not run.options["streams"]:
        return Prepared(lm_items(train, tok), lm_items(val, tok), config=fixed, tokenizer=tok,
                        collate=lm_collate(tok.pad_id))
    pieces = [tok.encode(line, add_bos=True, add_eos=True) for line in train]
    held_out = [tok.encode(line, add_bos=True, add_eos=True) for line in val]
    return Prepared(TokenStreams(pieces, seq_len=16, seed=run.seed, groups=2), config=fixed, tokenizer=tok,
                    evaluator=stream_evaluator(held_out, 16, 4, tok.pad_id), extra={"streams": True})


RECIPE = TrainRecipe("lines", prepare=prepare, archs={"compressive": Arch("compressive", TINY)},
                     train={"steps": 12, "batch_size": 4, "lr": 3e-3, "eval_every": 6},
                     params=[Param("streams", "bool", False, "Train on streams.")])
app = typer.Typer()
app.command("train")(train_command(RECIPE))


class _Plugin:
    @staticmethod
    @hookimpl
    def register_lazy_commands(register):
        register(LazyCommand("lines", f"{__name__}:app", "compressive on lines"))


@pytest.fixture(autouse=True)
def _dirs(monkeypatch, tmp_path):
    isolate_dirs(monkeypatch, tmp_path)


@pytest.mark.parametrize("streams", [False, True])
def test_the_train_kit_trains_compressive_on_windows_and_streams(tmp_path, streams):
    args = ["lines", "train", "--arch", "compressive", "--out", tmp_path / "run", "--save", tmp_path / "m.json",
            "--device", "cpu", "--json"] + (["--streams", "--set", "memory_reset=0.25"] if streams else [])
    r = run_cli(args, plugins=[_Plugin])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["steps"] == 12 and math.isfinite(summary["best_val_loss"])
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [6, 12]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] or rows[-1]["val_loss"] < rows[0]["val_loss"]
    ckpt = load_checkpoint(tmp_path / "m.json")
    assert ckpt.meta["model_type"] == "compressive" and ckpt.config.seg_len == 8
    last = json.loads((tmp_path / "run" / "last.json").read_text())
    assert ("streams" in json.dumps(last["train_state_layout"])) == streams  # memories saved for resume
    assert last["trainer"]["train_config"]["memory_reset"] == (0.25 if streams else 0.0)
    # and it samples, through core's generate
    out = generate(ckpt.model, torch.full((2, 1), ckpt.tokenizer.bos_id), 12, generator=torch.Generator().manual_seed(0))
    assert out.shape[0] == 2 and 1 <= out.shape[1] <= 12


def test_streams_of_windows_that_are_not_whole_segments_are_one_error(tmp_path):
    r = run_cli(["lines", "train", "--arch", "compressive", "--streams", "--set", "seg_len=6", "--set", "mem_len=6",
                 "--set", "cmem_len=0", "--out", tmp_path / "run", "--device", "cpu"], plugins=[_Plugin])
    assert r.exit_code == 2
    assert "16 tokens is not a multiple of the model's segment 6" in r.stderr and "Traceback" not in r.output
