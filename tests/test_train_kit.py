"""The train command kit: settings merged in order, checked before any data is read, one export rule."""

from __future__ import annotations

import json

import pytest
import typer

import seqkit
from seqkit import Arch, Param, Prepared, SeqkitError, TrainRecipe, hookimpl
from seqkit.testing import run_cli

PREPARED = []


def prepare(run):
    from seqkit import CharTokenizer
    from seqkit.testing import lm_collate, lm_items, tiny_corpus

    PREPARED.append(run)
    lines = tiny_corpus(40).splitlines()
    tok = CharTokenizer.build(lines)
    items = lm_items(lines, tok)
    return Prepared(items[:32], items[32:], config={"vocab_size": tok.vocab_size}, tokenizer=tok,
                    collate=lm_collate(tok.pad_id), data={"lines": len(lines)},
                    metrics=lambda result: {"lines": len(lines)})


RECIPE = TrainRecipe(
    task="kit",
    prepare=prepare,
    archs={"gru": Arch("rnn-lm", {"cell": "gru", "hidden": 16, "n_embd": 8}),
           "tiny-transformer": Arch("transformer-lm", {"n_layer": 1, "n_head": 2, "n_embd": 16, "max_len": 64},
                                    train={"lr": 3e-3})},
    params=[Param("flavour", "choice", "plain", "A task option.", choices=("plain", "salty"))],
    train={"steps": 6, "batch_size": 8, "lr": 1e-2, "eval_every": 3},
)


class KitPlugin:
    @hookimpl
    def register_tasks(self, register):
        register(seqkit.Task("kit", "a test task"))

    @hookimpl
    def register_commands(self, app):
        kit = typer.Typer()
        kit.command("train")(seqkit.train_command(RECIPE))
        app.add_typer(kit, name="kit")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))
    PREPARED.clear()


def kit(*args):
    return run_cli(["kit", "train", *map(str, args)], plugins=[KitPlugin()])


def test_settings_merge_in_order(tmp_path):
    from seqkit.train_kit import merge_settings

    cfg = {"model": {"hidden": 32}, "train": {"steps": 9, "lr": 0.5}, "dropout": 0.1}
    model, train = merge_settings(RECIPE, "tiny-transformer", None, [], {})
    assert model["n_layer"] == 1 and train["lr"] == 3e-3  # the architecture's training default wins
    model, train = merge_settings(RECIPE, "gru", cfg, ["steps=11", "cell=lstm"], {"batch_size": 4, "lr": None})
    assert model == {"cell": "lstm", "hidden": 32, "n_embd": 8, "dropout": 0.1}
    assert train == {"steps": 11, "batch_size": 4, "lr": 0.5, "eval_every": 3}
    with pytest.raises(SeqkitError, match="'n_head' is not a setting of rnn-lm"):
        merge_settings(RECIPE, "gru", None, ["n_head=2"], {})
    with pytest.raises(SeqkitError, match="--set takes key=value"):
        merge_settings(RECIPE, "gru", None, ["hidden"], {})


def test_train_exports_the_best_model_and_prints_a_summary(tmp_path):
    r = kit("--arch", "gru", "--out", tmp_path / "run", "--save", "mine", "--flavour", "salty", "--device", "cpu",
            "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["steps"] == 6 and summary["lines"] == 40 and summary["saved"].endswith("kit/mine.json")
    assert PREPARED[0].options == {"flavour": "salty"} and PREPARED[0].model["hidden"] == 16
    meta = json.loads(open(summary["saved"]).read())
    assert meta["metrics"]["lines"] == 40 and meta["extra"]["arch"] == "gru"


@pytest.mark.parametrize("args, message", [
    (["--set", "n_head=3", "--arch", "tiny-transformer"], "n_embd (16) must be divisible by n_head (3)"),
    (["--lr", "nan"], "--lr must be a positive number"),
    (["--set", "optimizer=lion"], "unknown optimizer 'lion'"),
    (["--arch", "gur"], "--arch must be one of gru, tiny-transformer, not 'gur'; did you mean gru?"),
    (["--flavour", "sweet"], "--flavour must be one of plain, salty"),
    (["--resume"], "--resume needs the --out folder"),
])
def test_bad_settings_fail_before_any_data_is_read(args, message, tmp_path):
    r = kit(*args, "--out", tmp_path / "run") if "--resume" not in args else kit(*args)
    assert r.exit_code == 2 and message in r.stderr, r.output
    assert PREPARED == [] and not (tmp_path / "run").exists()


def test_config_file_and_print_config(tmp_path):
    (tmp_path / "c.toml").write_text('[model]\nhidden = 24\n[train]\nsteps = 4\n')
    r = kit("--config", tmp_path / "c.toml", "--set", "steps=5", "--print-config")
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout)
    assert printed["model"]["hidden"] == 24 and printed["train"]["steps"] == 5 and PREPARED == []
    (tmp_path / "bad.toml").write_text("[model\n")
    r = kit("--config", tmp_path / "bad.toml")
    assert r.exit_code == 2 and "is not valid TOML" in r.stderr


def test_ctrl_c_before_the_first_evaluation_exports_nothing(tmp_path, monkeypatch):
    import seqkit.training

    def interrupted(model, batch):
        raise KeyboardInterrupt

    monkeypatch.setattr(seqkit.training, "lm_loss", interrupted)
    monkeypatch.setattr(seqkit, "lm_loss", interrupted, raising=False)
    r = kit("--arch", "gru", "--out", tmp_path / "run", "--save", "mine", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["saved"] is None and "nothing saved to" in r.stderr
    assert not (tmp_path / "data" / "checkpoints" / "kit" / "mine.json").exists()


def test_an_arch_from_a_plugin_that_is_not_installed_is_one_error_line():
    import typer
    from typer.testing import CliRunner

    from seqkit import Arch, TrainRecipe, train_command

    recipe = TrainRecipe("t", prepare=lambda run: None,
                         archs={"rnn": Arch("rnn-lm"), "other": Arch("no-such-model-type")})
    app = typer.Typer()
    app.command("train")(train_command(recipe))
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["train", "--arch", "other"])
    assert "no installed plugin registers" in str(result.exception) + result.output


# -- old spellings, settings a task option decides, the export's dtype, setup(model), the seed --------

SET_UP = []

RECIPE2 = TrainRecipe(
    task="kit",
    prepare=lambda run: _prepared_with_setup(run),
    archs={"gru": Arch("rnn-lm", {"cell": "gru", "hidden": 16, "n_embd": 8})},
    params=[Param("size", "choice", "small", "Model size.", choices=("small", "big"))],
    train={"steps": 3, "batch_size": 8, "lr": 1e-2, "eval_every": 3},
    model_defaults=lambda arch, options: {"hidden": 32} if options["size"] == "big" else {},
    export_dtype="float16",
    renamed=[seqkit.Renamed("--name", "--save"), seqkit.Renamed("--warmup", "warmup_steps", "int"),
             seqkit.Renamed("--bf16/--no-bf16", "bf16", "bool"),
             seqkit.Renamed("--no-resume", "", "bool", note="leave it out (it is the default)")],
)


def _prepared_with_setup(run):
    prepared = prepare(run)
    prepared.setup = SET_UP.append
    return prepared


class KitPlugin2(KitPlugin):
    @hookimpl
    def register_commands(self, app):
        kit = typer.Typer()
        kit.command("train")(seqkit.train_command(RECIPE2))
        app.add_typer(kit, name="kit")


def kit2(*args):
    return run_cli(["kit", "train", *map(str, args)], plugins=[KitPlugin2()])


def test_old_spellings_are_hidden_and_map_onto_the_new_ones(tmp_path):
    r = kit2("--warmup", 2, "--no-bf16", "--no-resume", "--set", "warmup_steps=4", "--print-config")
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout)
    assert printed["train"]["warmup_steps"] == 4 and printed["train"]["bf16"] is False  # --set wins
    assert "`kit train --warmup` is deprecated; use --set warmup_steps=2" in r.stderr
    assert "`kit train --no-bf16` is deprecated; use --set bf16=false" in r.stderr
    assert "`kit train --no-resume` is deprecated; leave it out (it is the default)" in r.stderr
    helped = kit2("--help")
    assert "--warmup" not in helped.stdout and "--name" not in helped.stdout and "--save" in helped.stdout
    r = kit2("--name", "x", "--save", "y", "--out", tmp_path / "run")
    assert r.exit_code == 2 and "give --save only (--name is its old spelling)" in r.stderr


def test_model_defaults_from_a_task_option_sit_under_set():
    r = kit2("--size", "big", "--print-config")
    assert json.loads(r.stdout)["model"]["hidden"] == 32
    r = kit2("--size", "big", "--set", "hidden=24", "--print-config")
    assert json.loads(r.stdout)["model"]["hidden"] == 24


def test_old_save_spelling_exports_in_the_recipes_dtype_after_setup(tmp_path):
    r = kit2("--name", "old", "--out", tmp_path / "run", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    assert "`kit train --name` is deprecated; use --save" in r.stderr
    saved = json.loads(r.stdout)["saved"]
    assert saved.endswith("kit/old.json") and json.loads(open(saved).read())["dtype"] == "float16"
    assert len(SET_UP) == 1 and hasattr(SET_UP[0], "parameters")  # setup(model) saw the model it trains
    run = PREPARED[-1]
    assert (run.out, run.resume, run.init) == (tmp_path / "run", False, None)
    SET_UP.clear()


def test_one_seed_one_run(tmp_path):
    a = kit("--arch", "gru", "--out", tmp_path / "a", "--seed", 5, "--device", "cpu", "--json")
    b = kit("--arch", "gru", "--out", tmp_path / "b", "--seed", 5, "--device", "cpu", "--json")
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    assert json.loads(a.stdout)["best_val_loss"] == json.loads(b.stdout)["best_val_loss"]  # the weights too
