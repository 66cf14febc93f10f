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
    def __init__(self, recipe=None):
        self.recipe = recipe or RECIPE

    @hookimpl
    def register_tasks(self, register):
        register(seqkit.Task("kit", "a test task"))

    @hookimpl
    def register_commands(self, app):
        kit = typer.Typer()
        kit.command("train")(seqkit.train_command(self.recipe))
        app.add_typer(kit, name="kit")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))
    PREPARED.clear()


def kit(*args):
    return run_cli(["kit", "train", *map(str, args)], plugins=[KitPlugin()])


def test_settings_merge_in_order(tmp_path):
    from seqkit.train.kit import merge_settings

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
    import seqkit.train.trainer

    def interrupted(model, batch):
        raise KeyboardInterrupt

    # seqkit's own name first: read after the module's is patched, it would be restored as the patch
    monkeypatch.setattr(seqkit, "lm_loss", interrupted, raising=False)
    monkeypatch.setattr(seqkit.train.trainer, "lm_loss", interrupted)
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


# ---------------------------------------------------------------- old flags gone, default names, own export

def _variant_cli(recipe):
    return lambda *args: run_cli(["kit", "train", *map(str, args)], plugins=[KitPlugin(recipe)])


def test_old_flags_are_gone_one_error_line_each():
    """Since 0.6 the flags of 0.4 (hidden in 0.5) are Click's usual unknown option: one line, exit 2."""
    for old in ("--hidden", "--run-dir", "--warmup", "--model"):
        r = kit(old, "2")
        assert r.exit_code == 2 and r.stderr.startswith(f"Error: No such option: {old}"), r.output
        assert len(r.stderr.strip().splitlines()) == 1 and PREPARED == []


def test_a_0_5_recipe_with_deprecated_and_renamed_still_loads_with_a_warning_and_no_old_flag():
    import dataclasses

    with pytest.warns(DeprecationWarning, match="Renamed does nothing since seqkit 0.6"):
        renamed = seqkit.Renamed("warmup_steps", "int")
    with pytest.warns(DeprecationWarning, match="deprecated= is ignored since seqkit 0.6"):
        old = dataclasses.replace(RECIPE, deprecated={"--hidden": "hidden", "--warmup": renamed})
    r = _variant_cli(old)("--hidden", "24")
    assert r.exit_code == 2 and r.stderr.startswith("Error: No such option: --hidden"), r.output
    r = _variant_cli(old)("--set", "hidden=24", "--print-config")
    assert r.exit_code == 0 and json.loads(r.stdout)["model"]["hidden"] == 24, r.output


def test_save_as_names_the_export_from_the_arch_and_params_and_prepared_export_replaces_the_export(tmp_path):
    import dataclasses

    calls = []

    def export(result, target, metrics):
        from seqkit import export_checkpoint

        calls.append(result["steps"])
        return export_checkpoint(result["best_path"], target, dtype="float16", metrics=metrics)

    def prepare_half(run):
        return dataclasses.replace(prepare(run), export=export)

    own = _variant_cli(dataclasses.replace(RECIPE, prepare=prepare_half, save_as="{arch}-{flavour}"))
    r = own("--arch", "gru", "--flavour", "salty", "--out", tmp_path / "run", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    saved = json.loads(r.stdout)["saved"]
    assert saved.endswith("kit/gru-salty.json") and calls == [6]
    meta = json.loads(open(saved).read())
    assert meta["dtype"] == "float16" and meta["metrics"]["lines"] == 40


def test_a_length_the_user_gives_replaces_the_defaults_length():
    import dataclasses

    from seqkit.train.kit import merge_settings

    recipe = dataclasses.replace(RECIPE, train={"epochs": 5, "batch_size": 8})
    assert merge_settings(recipe, "gru", None, [], {})[1]["epochs"] == 5
    _, train = merge_settings(recipe, "gru", None, [], {"steps": 40})
    assert train["steps"] == 40 and "epochs" not in train  # not "5 epochs or 40 steps, whichever is first"
    _, train = merge_settings(RECIPE, "gru", {"train": {"epochs": 2}}, [], {})
    assert train["epochs"] == 2 and "steps" not in train
    _, train = merge_settings(recipe, "gru", None, ["steps=7", "epochs=1"], {})
    assert train["steps"] == 7 and train["epochs"] == 1


def test_save_as_a_folder_is_one_error_line(tmp_path):
    (tmp_path / "models").mkdir()
    r = kit("--out", tmp_path / "run", "--save", tmp_path / "models")
    assert r.exit_code == 2 and "is a folder" in r.stderr and not (tmp_path / "models.json").exists()
    assert PREPARED == [] and not (tmp_path / "run").exists()


def test_the_seed_fixes_the_initial_weights(tmp_path):
    """The model is built after the data is read, in the same process as earlier runs: without
    seeding there, two runs with one --seed started from different weights."""
    from seqkit import load_checkpoint

    def weights(i, seed):
        r = kit("--arch", "gru", "--out", tmp_path / f"run{i}", "--save", tmp_path / f"m{i}.json", "--seed", seed,
                "--device", "cpu", "--set", "lr=1e-9")
        assert r.exit_code == 0, r.output
        return load_checkpoint(tmp_path / f"m{i}.json").model.state_dict()

    a, b, c = weights(0, 3), weights(1, 3), weights(2, 4)
    assert all(a[k].equal(b[k]) for k in a) and not all(a[k].equal(c[k]) for k in a)


# ---------------------------------------------------------------- each evaluation's row; settings that are not numbers

def test_prepared_on_eval_gets_each_evaluation_row(tmp_path):
    import dataclasses

    rows = []

    def prepare_reporting(run):
        return dataclasses.replace(prepare(run), on_eval=rows.append)

    own = _variant_cli(dataclasses.replace(RECIPE, prepare=prepare_reporting))
    r = own("--arch", "gru", "--out", tmp_path / "run", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    assert [row["step"] for row in rows] == [3, 6] and all("val_loss" in row for row in rows)


@pytest.mark.parametrize("setting, message", [
    ("hidden=lots", "hidden must be an integer, not 'lots'"),
    ("hidden=0", "hidden must be at least 1, not 0"),
    ("dropout=1.5", "dropout must be in [0, 1), not 1.5"),
])
def test_a_model_setting_of_the_wrong_kind_is_one_error_line_before_any_data_is_read(setting, message, tmp_path):
    """--set hidden=lots was a TypeError traceback from inside torch (after reading the data)."""
    r = kit("--arch", "gru", "--set", setting, "--out", tmp_path / "run")
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output, r.output
    assert PREPARED == []


@pytest.mark.parametrize("args, message", [
    (["--arch", "tiny-transformer", "--set", "n_head=0"], "n_head must be at least 1, not 0"),
    (["--arch", "tiny-transformer", "--set", "n_embd=0"], "n_embd must be at least 1, not 0"),
    (["--arch", "tiny-transformer", "--set", "max_len=0"], "max_len must be at least 1, not 0"),
    (["--arch", "tiny-transformer", "--set", "dropout=1"], "dropout must be in [0, 1), not 1"),
])
def test_transformer_sizes_below_one_are_one_error_line(args, message, tmp_path):
    """TransformerConfig checks its sizes (check_sizes): n_head=0 was a ZeroDivisionError
    traceback, n_embd=0 a traceback from inside the first forward pass, after the data was read."""
    r = kit(*args, "--out", tmp_path / "run")
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output, r.output
    assert PREPARED == [] and not (tmp_path / "run").exists()


# -- settings a task option decides, the export's dtype, setup(model), the seed --------

SET_UP = []

RECIPE2 = TrainRecipe(
    task="kit",
    prepare=lambda run: _prepared_with_setup(run),
    archs={"gru": Arch("rnn-lm", {"cell": "gru", "hidden": 16, "n_embd": 8})},
    params=[Param("size", "choice", "small", "Model size.", choices=("small", "big"))],
    train={"steps": 3, "batch_size": 8, "lr": 1e-2, "eval_every": 3},
    model_defaults=lambda arch, options: {"hidden": 32} if options["size"] == "big" else {},
    export_dtype="float16",
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


def test_model_defaults_from_a_task_option_sit_under_set():
    r = kit2("--size", "big", "--print-config")
    assert json.loads(r.stdout)["model"]["hidden"] == 32
    r = kit2("--size", "big", "--set", "hidden=24", "--print-config")
    assert json.loads(r.stdout)["model"]["hidden"] == 24


def test_save_exports_in_the_recipes_dtype_after_setup(tmp_path):
    r = kit2("--save", "old", "--out", tmp_path / "run", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    saved = json.loads(r.stdout)["saved"]
    assert saved.endswith("kit/old.json") and json.loads(open(saved).read())["dtype"] == "float16"
    assert len(SET_UP) == 1 and hasattr(SET_UP[0], "parameters")  # setup(model) saw the model it trains
    run = PREPARED[-1]
    assert (run.out, run.resume, run.init) == (tmp_path / "run", False, None)
    assert run.model_type == "rnn-lm" and run.carries_memory is False
    SET_UP.clear()


def test_one_seed_one_run(tmp_path):
    a = kit("--arch", "gru", "--out", tmp_path / "a", "--seed", 5, "--device", "cpu", "--json")
    b = kit("--arch", "gru", "--out", tmp_path / "b", "--seed", 5, "--device", "cpu", "--json")
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    assert json.loads(a.stdout)["best_val_loss"] == json.loads(b.stdout)["best_val_loss"]  # the weights too


def test_tensorboard_from_the_flag_or_the_config(tmp_path):
    """``--tensorboard`` (or ``tensorboard = true`` under ``[train]``) writes TensorBoard events."""
    pytest.importorskip("tensorboard", reason="the tensorboard extra: pip install tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    r = kit("--arch", "gru", "--out", tmp_path / "flag", "--device", "cpu", "--tensorboard")
    assert r.exit_code == 0, r.output
    (tmp_path / "tb.toml").write_text("[train]\ntensorboard = true\n")
    r = kit("--arch", "gru", "--out", tmp_path / "config", "--device", "cpu", "--config", tmp_path / "tb.toml")
    assert r.exit_code == 0, r.output
    for run in ("flag", "config"):
        events = EventAccumulator(str(tmp_path / run / "tensorboard"))
        events.Reload()
        rows = [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        assert [e.step for e in events.Scalars("loss/train")] == [r["step"] for r in rows]
    r = kit("--arch", "gru", "--out", tmp_path / "none", "--device", "cpu")
    assert r.exit_code == 0 and not (tmp_path / "none" / "tensorboard").exists()


def test_config_seed_and_device_win_over_the_defaults_and_lose_to_flags(tmp_path):
    (tmp_path / "c.toml").write_text('[train]\nseed = 7\ndevice = "cpu"\n')
    r = kit("--config", tmp_path / "c.toml", "--print-config")
    assert r.exit_code == 0, r.output
    train = json.loads(r.stdout)["train"]
    assert (train["seed"], train["device"]) == (7, "cpu")
    r = kit("--config", tmp_path / "c.toml", "--seed", "0", "--device", "auto", "--print-config")
    train = json.loads(r.stdout)["train"]
    assert (train["seed"], train["device"]) == (0, "auto")  # a flag given wins, even at its default
    r = kit("--print-config")
    train = json.loads(r.stdout)["train"]
    assert (train["seed"], train["device"]) == (0, "auto")
    r = kit("--config", tmp_path / "c.toml", "--out", tmp_path / "run", "--json")
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "run" / "last.json").read_text())
    assert meta["trainer"]["train_config"]["seed"] == 7 and PREPARED[-1].seed == 7


def test_an_export_onto_the_runs_own_state_or_an_empty_out_is_one_error_line(tmp_path):
    run = tmp_path / "run"
    r = kit("--out", run, "--steps", 3, "--device", "cpu")
    assert r.exit_code == 0, r.output
    before = (run / "last.json").read_bytes(), (run / "metrics.jsonl").read_bytes()
    for target in (run / "last.json", run / "best.json", run / "." / "last"):
        r = kit("--out", run, "--resume", "--steps", 6, "--save", target)
        assert r.exit_code == 2 and r.stderr.startswith("Error: --save ") and "run's own" in r.stderr, r.output
        assert len(r.stderr.strip().splitlines()) == 1
    assert ((run / "last.json").read_bytes(), (run / "metrics.jsonl").read_bytes()) == before
    r = kit("--out", "", "--steps", 3)
    assert r.exit_code == 2 and r.stderr.strip() == "Error: --out is empty; give a folder for the run", r.output
    assert PREPARED[1:] == []
