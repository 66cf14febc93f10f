"""The eval command kit: common options once, the recipe's own after them, one report shape."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer

import seqkit
from seqkit import EvalRecipe, Param, SeqkitError, hookimpl
from seqkit.testing import run_cli

RUNS = []


def evaluate(run):
    RUNS.append(run)
    if run.options["fail"]:
        raise SeqkitError("the held-out file is empty")
    run.progress(1, 1, "scoring")
    return {"data": str(run.data), "items": np.int64(run.limit or 10),
            "models": [{"model": m, "nll": np.float32(1.5) + i, "exact": i == 0} for i, m in enumerate(run.models)]}


RECIPE = EvalRecipe(task="kit", evaluate=evaluate, default_models=("small", "large"), multiple=True,
                    params=[Param("fail", "bool", False, "Fail on purpose.")], threads=1)
SINGLE = EvalRecipe(task="kit", evaluate=evaluate, default_models=(),
                    params=[Param("fail", "bool", False, "Fail on purpose.")])


class KitPlugin:
    @hookimpl
    def register_tasks(self, register):
        register(seqkit.Task("kit", "a test task"))

    @hookimpl
    def register_commands(self, app):
        kit = typer.Typer()
        kit.command("eval")(seqkit.eval_command(RECIPE))
        kit.command("one")(seqkit.eval_command(SINGLE))
        app.add_typer(kit, name="kit")


@pytest.fixture(autouse=True)
def _clear():
    RUNS.clear()


def kit(*args):
    return run_cli(["kit", *map(str, args)], plugins=[KitPlugin()])


def test_common_options_reach_the_recipe_and_json_is_plain(tmp_path):
    r = kit("eval", "-m", "a", "-m", "b", "--data", tmp_path, "--limit", 3, "--seed", 7, "--batch-size", 5,
            "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["items"] == 3 and [m["model"] for m in report["models"]] == ["a", "b"]
    assert report["models"][1]["nll"] == 2.5
    run = RUNS[0]
    assert (run.models, run.seed, run.batch_size, run.limit, run.device_option) == (["a", "b"], 7, 5, 3, "cpu")
    assert str(run.device) == "cpu" and run.task == "kit"


def test_default_models_and_the_default_tables():
    r = kit("eval")
    assert r.exit_code == 0, r.output
    assert RUNS[0].models == ["small", "large"] and RUNS[0].limit is None
    for word in ("items", "10", "models", "small", "large", "nll", "1.5", "2.5", "yes", "no"):
        assert word in r.stdout


def test_an_error_in_evaluate_is_one_line():
    r = kit("eval", "--fail")
    assert r.exit_code == 2 and r.stderr.strip() == "Error: the held-out file is empty"


def test_no_model_to_evaluate_is_one_line():
    r = kit("one")
    assert r.exit_code == 2 and "no kit model to evaluate" in r.stderr


def test_bad_common_options_are_refused_before_evaluating():
    for args in (["--limit", "0"], ["--threads", "-1"], ["--seed", "-3"]):
        r = kit("eval", *args)
        assert r.exit_code == 2 and not RUNS, args


def test_help_lists_the_common_options_and_the_default_models():
    r = kit("eval", "--help")
    for flag in ("--model", "--data", "--device", "--threads", "--seed", "--batch-size", "--limit", "--json", "--fail"):
        assert flag in r.stdout
    assert "small large" in r.stdout


def test_a_recipe_render_replaces_the_tables(monkeypatch):
    monkeypatch.setattr(RECIPE, "render", lambda report: f"{len(report['models'])} models scored")
    r = kit("eval")
    assert r.exit_code == 0 and r.stdout.strip() == "2 models scored"
