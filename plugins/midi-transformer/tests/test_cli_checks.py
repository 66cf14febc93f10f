"""Checks the music commands make before any work: nothing half-written, seeded runs repeat."""

import json
import os

import pytest
import seqkit_midi_transformer.plugin as plugin
from music_helpers import make_midi, scale_notes

from seqkit.testing import run_cli


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin])


def _train(folder, out, *extra):
    return cli("music", "train", "--data", folder, "--preset", "tiny", "--seq-len", 32, "--batch-size", 2,
               "--steps", 2, "--out", out, "--device", "cpu", "--no-augment", "--json", *extra)


@pytest.fixture
def model(tmp_path, maestro_folder):
    r = _train(maestro_folder, tmp_path / "run")
    assert r.exit_code == 0, r.output
    return tmp_path / "run" / "best.json"


def test_train_with_the_same_seed_repeats_itself(tmp_path, maestro_folder):
    a = _train(maestro_folder, tmp_path / "a", "--seed", "3")
    b = _train(maestro_folder, tmp_path / "b", "--seed", "3")
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    assert json.loads(a.stdout)["best_val_loss"] == json.loads(b.stdout)["best_val_loss"]


def test_train_checks_out_and_lengths_before_tokenizing(tmp_path, maestro_folder):
    (tmp_path / "file").write_text("x")
    r = _train(maestro_folder, tmp_path / "file")
    assert r.exit_code == 2 and "is a file; give a folder for the run" in r.stderr
    assert _train(maestro_folder, tmp_path / "run").exit_code == 0
    r = _train(maestro_folder, tmp_path / "run")
    assert r.exit_code == 2 and "already holds a run; pass --resume" in r.stderr
    r = _train(maestro_folder, tmp_path / "long", "--set", "max_len=16")
    assert r.exit_code == 2 and "--seq-len 32 is longer than the model's context (max_len 16)" in r.stderr
    assert not (tmp_path / "long").exists()
    r = cli("music", "train", "--data", maestro_folder, "--arch", "transformer-lm", "--preset", "tiny",
            "--set", "max_len=16", "--seq-len", 32, "--steps", 1, "--out", tmp_path / "tl", "--device", "cpu")
    assert r.exit_code == 2 and "longer than the model's context" in r.stderr and "Traceback" not in r.output
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        r = _train(maestro_folder, locked / "run")
        assert r.exit_code == 2 and "is not a writable folder" in r.stderr


def test_generate_checks_every_target_first(tmp_path, model):
    (tmp_path / "dir").mkdir()
    for flag in ("--wav", "--piano-roll", "--out"):
        out = tmp_path / "g.mid"
        args = ["--out", out] if flag != "--out" else []
        r = cli("music", "generate", "--model", model, "--tokens", 8, "--device", "cpu", *args, flag, tmp_path / "dir")
        assert r.exit_code == 2 and "is a folder; give a file name" in r.stderr, (flag, r.output)
        assert not out.exists()  # nothing written before the error
    r = cli("music", "generate", "--model", model, "--tokens", 8, "--primer-seconds", 2, "--out", tmp_path / "x.mid")
    assert r.exit_code == 2 and "--primer-seconds needs --primer" in r.stderr
    r = cli("music", "generate", "--model", model, "--tokens", 8, "--primer-tokens", 5, "--out", tmp_path / "x.mid")
    assert r.exit_code == 2 and "--primer-tokens needs --primer" in r.stderr
    assert not (tmp_path / "x.mid").exists()


def test_generate_several_pieces_renders_each(tmp_path, model):
    primer = make_midi(tmp_path / "p.mid", scale_notes(12))
    r = cli("music", "generate", "--model", model, "--primer", primer, "--tokens", 16, "-n", 2, "--seed", 0,
            "--out", tmp_path / "g.mid", "--piano-roll", tmp_path / "roll.png", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    pieces = json.loads(r.stdout)["results"]
    assert [p["saved"]["png"] for p in pieces] == [str(tmp_path / "roll_1.png"), str(tmp_path / "roll_2.png")]
    assert all((tmp_path / f"roll_{i}.png").stat().st_size > 1000 for i in (1, 2))
    assert [p["saved"]["mid"] for p in pieces] == [str(tmp_path / "g_1.mid"), str(tmp_path / "g_2.mid")]


def test_eval_max_windows_scores_exactly_that_many(tmp_path, model, maestro_folder):
    full = cli("music", "eval", "--model", model, "--data", maestro_folder, "--seq-len", 8, "--device", "cpu", "--json")
    assert full.exit_code == 0, full.output
    assert json.loads(full.stdout)["windows"] > 3
    r = cli("music", "eval", "--model", model, "--data", maestro_folder, "--seq-len", 8, "--max-windows", 3,
            "--batch-size", 8, "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["windows"] == 3 and res["tokens"] == 3 * 8


def test_ctrl_c_before_validation_keeps_the_users_named_model(tmp_path, maestro_folder, monkeypatch):
    """Regression (#13): Ctrl-C at step 1 overwrote the user's --name checkpoint with unvalidated
    weights (metrics {"steps": 1}); names, numerals and abc already refused to."""
    r = _train(maestro_folder, tmp_path / "first", "--save", "mine")
    assert r.exit_code == 0, r.output
    exported = json.loads(r.stdout)["saved"]
    assert json.loads(open(exported).read())["dtype"] == "float16"  # music exports half-precision weights
    before = open(exported, "rb").read()

    import seqkit.train.trainer

    def interrupted(model, batch):
        raise KeyboardInterrupt

    monkeypatch.setattr(seqkit.train.trainer.Trainer, "_evaluate_and_save",
                        lambda *a, **k: pytest.fail("no evaluation expected"))
    real_init = seqkit.train.trainer.Trainer.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.loss_fn = interrupted

    monkeypatch.setattr(seqkit.train.trainer.Trainer, "__init__", init)
    r = _train(maestro_folder, tmp_path / "second", "--save", "mine")
    assert r.exit_code == 0, r.output
    assert "nothing saved to" in r.stderr and "Traceback" not in r.output
    assert open(exported, "rb").read() == before and json.loads(r.stdout)["saved"] is None


def test_generate_caps_unbounded_work_with_a_notice(tmp_path, model, monkeypatch):
    """--tokens 1000000 or --seconds 1e9 would run for hours: capped, saying so; -n is bounded."""
    import seqkit_midi_transformer.generator as generator

    r = cli("music", "generate", "--model", model, "-n", 100_000, "--out", tmp_path / "n.mid")
    assert r.exit_code == 2 and "--count must be at most 256" in r.stderr and "Traceback" not in r.output
    monkeypatch.setattr(generator, "MAX_NEW_TOKENS", 12)  # the real cap takes minutes to reach
    for args in (["--tokens", 1_000_000], ["--seconds", 1e9]):
        r = cli("music", "generate", "--model", model, *args, "--device", "cpu", "--seed", 0,
                "--out", tmp_path / "g.mid", "--json")
        assert r.exit_code == 0, r.output
        assert "generating 12 tokens, not" in r.stderr
        assert json.loads(r.stdout)["results"][0]["tokens"] <= 12
