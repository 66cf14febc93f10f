"""A trial `names train` never replaces a shipped model; `--save gru` does so only on request and
says so; `names --model gru` says when the user's model stands in for the shipped one, and
`--model shipped:gru` always reaches the shipped model (issue 29, item 1)."""

import json
from pathlib import Path

import seqkit_names.plugin as plugin

from seqkit.io import user_checkpoint_dir
from seqkit.testing import run_cli

SHIPPED = Path(plugin.__file__).parent / "checkpoints"


def _train(folder, out, *save):
    return run_cli(["names", "train", "--arch", "gru", "--data", folder, "--steps", 3, "--batch-size", 8,
                    "--set", "hidden=8", "--set", "n_embd=8", "--device", "cpu", "--threads", 1,
                    "--out", out, *save], plugins=[plugin])


def test_train_without_save_never_takes_a_shipped_name(tmp_path, tiny_folder):
    r = _train(tiny_folder, tmp_path / "run")
    assert r.exit_code == 0, r.output
    saved = Path(r.stdout.strip().splitlines()[-1])
    assert saved.name == "my-gru.json" and saved.parent == user_checkpoint_dir("names")
    assert not (user_checkpoint_dir("names") / "gru.json").exists()
    assert "shadow" not in r.stderr


def test_save_with_a_shipped_name_says_it_shadows_and_generate_says_which_ran(tmp_path, tiny_folder):
    r = _train(tiny_folder, tmp_path / "run", "--save", "gru")
    assert r.exit_code == 0, r.output
    notes = [line for line in r.stderr.splitlines() if "shadow" in line]
    assert len(notes) == 1 and "shipped:gru" in notes[0], r.stderr
    assert (user_checkpoint_dir("names") / "gru.json").exists()

    r = run_cli(["names", "--model", "gru", "--country", "Alpha", "-n", 2, "--seed", 1, "--json"], plugins=[plugin])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["model_origin"] == "user"
    said = [line for line in r.stderr.splitlines() if "in place of the shipped one" in line]
    assert len(said) == 1 and "shipped:gru" in said[0], r.stderr

    r = run_cli(["names", "--model", "shipped:gru", "--country", "Greek", "-n", 2, "--seed", 1, "--json"], plugins=[plugin])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["model_origin"] == "shipped"
    assert "in place of" not in r.stderr


def test_shipped_prefix_is_found_by_core_and_unknown_ones_are_one_error(tmp_path):
    from seqkit import find_checkpoint
    from seqkit.testing import registered

    with registered(plugin):
        assert find_checkpoint("shipped:gru", "names") == SHIPPED / "gru.json"
    r = run_cli(["names", "--model", "shipped:nope", "--country", "Greek", "-n", 1], plugins=[plugin])
    assert r.exit_code == 2 and r.stderr.count("Error:") == 1 and "no shipped names checkpoint" in r.stderr
    r = run_cli(["names", "train", "--arch", "gru", "--steps", 1, "--save", "shipped:gru", "--out",
                 tmp_path / "r"], plugins=[plugin])
    assert r.exit_code == 2 and "shipped models cannot be written" in r.stderr, r.output
