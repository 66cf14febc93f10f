import json

import pytest
from typer.testing import CliRunner

from seqkit.testing import cli_app

app = cli_app()

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["names", *map(str, args)])


def test_front_door(tiny_models):
    r = run("--country", "alpha", "--model", tiny_models["gru"], "--seed", 3)
    assert r.exit_code == 0, r.output
    names = r.stdout.split()
    assert len(names) == 10 == len(set(names))
    assert r.stdout == run("--country", "Alpha", "--model", tiny_models["gru"], "--seed", 3).stdout


def test_json_and_start(tiny_models):
    r = run("-c", "Beta", "-m", tiny_models["lstm"], "--start", "vak", "--seed", 0, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["country"] == "Beta" and out["arch"] == "lstm"
    assert [row["start"] for row in out["results"]] == ["V", "A", "K"]
    assert all(row["text"].startswith(row["start"]) for row in out["results"])
    r = run("-c", "Beta", "-m", tiny_models["lstm"], "--start", "V", "-n", 3, "--json", "--seed", 0)
    assert len(json.loads(r.stdout)["results"]) == 3


def test_novel_leaves_out_known_names(tiny_models):
    r = run("-c", "Alpha", "-m", tiny_models["transformer"], "--novel", "-n", 5, "--json", "--seed", 2,
            "--temperature", 1.5)
    assert r.exit_code == 0, r.output
    assert all(row["new"] for row in json.loads(r.stdout)["results"])


def test_countries(tiny_models, tiny_folder):
    r = run("countries", "--data", tiny_folder, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == [{"country": "Alpha", "names": 41, "aliases": []},
                                    {"country": "Beta", "names": 40, "aliases": []}]
    r = run("countries", "--model", tiny_models["rnn"])
    assert r.exit_code == 0 and "Alpha" in r.stdout and "81 distinct names" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["--country", "Gamma"], "unknown country 'Gamma'"),
    (["--country", "Alfa"], "closest: Alpha"),
    (["--country", ""], "no country given"),
    ([], "which country?"),
    (["--country", "Alpha", "-n", "0"], "at least 1"),
    (["--country", "Alpha", "--start", "A1"], "--start takes ASCII letters"),
    (["--country", "Alpha", "--start", "É"], "--start takes ASCII letters"),
    (["--country", "Alpha", "--max-length", "99"], "--max-length is at most"),
    (["--country", "Alpha", "--temperature", "inf"], "--temperature must be a finite number"),
    (["eval", "--temperature", "inf"], "--temperature must be a finite number"),
    (["Alpha"], "no command 'Alpha' (commands: countries, train, eval); for names of a country: "
                "seqkit names --country Alpha"),
])
def test_bad_input(tiny_models, args, message):
    r = run(*args, "--model", tiny_models["rnn"])
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output and len(r.stderr.strip().splitlines()) == 1


def test_huge_count_is_capped(tiny_models, monkeypatch):
    from seqkit_names import generator

    monkeypatch.setattr(generator, "MAX_COUNT", 12)
    r = run("--country", "Alpha", "--model", tiny_models["gru"], "-n", 10**9, "--seed", 0)
    assert r.exit_code == 0, r.output
    assert "printing 12" in r.stderr and len(r.stdout.split()) == 12


def test_bad_data_and_checkpoints(tmp_path, tiny_models):
    r = run("train", "--data", tmp_path / "missing", "--out", tmp_path / "run")
    assert r.exit_code == 2 and "does not exist" in r.stderr
    (tmp_path / "A.txt").write_text("Smith\n")
    (tmp_path / "B.txt").write_text("")
    r = run("countries", "--data", tmp_path)
    assert r.exit_code == 2 and "B.txt has no names" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = run("--country", "Alpha", "--model", bad)
    assert r.exit_code == 2 and "not a seqkit checkpoint" in r.stderr
    # weights that do not match their recorded checksum
    import shutil

    src = tiny_models["gru"]
    for f in src.parent.glob("gru*"):
        shutil.copy(f, tmp_path / f.name)
    meta = json.loads((tmp_path / "gru.json").read_text())
    (tmp_path / meta["weights"]).write_bytes(b"garbage")
    r = run("--country", "Alpha", "--model", tmp_path / "gru.json")
    assert r.exit_code == 2 and "corrupt" in r.stderr and "Traceback" not in r.output
    r = run("--country", "Alpha", "--model", tiny_models["classifier"])
    assert r.exit_code == 2 and "classifier, not a name generator" in r.stderr
    r = run("train", "--arch", "gru", "--set", "n_head=2", "--data", tmp_path)
    assert r.exit_code == 2 and "'n_head' is not a setting of rnn-lm" in r.stderr
    r = run("train", "--arch", "gru", "--save", "..", "--data", tmp_path)
    assert r.exit_code == 2 and "invalid checkpoint name" in r.stderr


def test_train_and_eval_from_the_cli(tiny_folder, tiny_models, tmp_path, monkeypatch):
    import torch

    threads, real = [], torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (threads.append(n), real(n)))
    r = run("train", "--arch", "rnn", "--data", tiny_folder, "--epochs", 1, "--set", "hidden=8", "--threads", 1,
            "--batch-size", 16, "--out", tmp_path / "run", "--save", tmp_path / "mine.json")
    assert r.exit_code == 0, r.output
    assert threads == [1]
    assert (tmp_path / "mine.json").exists() and (tmp_path / "run" / "metrics.jsonl").exists()
    threads.clear()
    r = run("eval", "--data", tiny_folder, "--model", tmp_path / "mine.json", "--model", tiny_models["gru"],
            "--classifier", tiny_models["classifier"], "--per-country", 10, "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["classifier"]["accuracy"] == 1.0
    assert threads == [1]  # torch's default threads made the eval 7x slower on a busy machine
    gru = report["models"][1]
    assert gru["arch"] == "gru" and gru["nll"] < 2.5 and gru["generated"] == 20
    assert 0.5 <= gru["agreement"] <= 1.0 and 0 <= gru["new"] <= 1


SHIPPED = __import__("pathlib").Path(__import__("seqkit_names").__file__).parent / "checkpoints"


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru", "transformer"])
def test_shipped_models(arch):
    from seqkit import read_meta

    path = SHIPPED / f"{arch}.json"
    if not path.exists():
        pytest.skip(f"{arch} is not shipped")
    meta = read_meta(path)
    assert meta["dtype"] == "float16" and (meta["extra"]["countries"][7] == "Greek")
    assert path.stat().st_size + (SHIPPED / meta["weights"]).stat().st_size <= 2_000_000
    r = run("--country", "Greece", "--model", arch, "--seed", 0, "--json", "--start", "ABK")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["country"] == "Greek" and [x["text"][0] for x in out["results"]] == ["A", "B", "K"]


def test_shipped_default_front_door_and_countries():
    if not (SHIPPED / "transformer.json").exists():
        pytest.skip("the default model (transformer) is not shipped")
    r = run("--country", "russia", "--seed", 1)
    assert r.exit_code == 0, r.output
    assert len(r.stdout.split("\n")) == 11  # 10 names and the final newline
    r = run("countries", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert len(rows) == 18 and {"country": "Greek", "names": 193, "aliases": ["greece", "hellas", "hellenic", "cyprus"]} in rows


def test_huge_count_with_start_letters_caps_the_total(tiny_models, monkeypatch):
    from seqkit_names import generator

    monkeypatch.setattr(generator, "MAX_COUNT", 12)
    r = run("--country", "Beta", "--model", tiny_models["gru"], "--start", "VKA", "-n", 10**9, "--seed", 0,
            "--json")
    assert r.exit_code == 0, r.output
    assert "printing 4 per letter" in r.stderr
    names = json.loads(r.stdout)["results"]
    assert len(names) <= 12 and {row["start"] for row in names} <= {"V", "K", "A"}
    assert sum(row["start"] == "V" for row in names) == 4  # Beta's own letter: all 4 found


@pytest.mark.parametrize("args, message", [
    (["--arch", "gru", "--steps", "-1"], "--steps"),
    (["--arch", "gru", "--epochs", "-2"], "--epochs"),
    (["--arch", "gru", "--set", "hidden=0"], "hidden must be at least 1, not 0"),
    (["--arch", "lstm", "--set", "n_layer=0"], "n_layer must be at least 1, not 0"),
    (["--arch", "transformer", "--set", "n_head=3"], "must be divisible by n_head"),
    (["--arch", "transformer", "--set", "n_embd=0"], "n_embd must be at least 1, not 0"),
    (["--arch", "rnn", "--set", "dropout=1"], "dropout must be in [0, 1), not 1"),
    (["--arch", "classifier", "--set", "hidden=-1"], "hidden must be at least 1, not -1"),
    (["--arch", "classifier", "--balance", "0.5"], "--balance does not apply to --arch classifier"),
])
def test_bad_model_and_training_settings_are_one_error(tiny_folder, tmp_path, args, message):
    r = run("train", *args, "--data", tiny_folder, "--out", tmp_path / "run", "--save", tmp_path / "m.json")
    assert r.exit_code == 2, r.output
    assert message in r.stderr and "Traceback" not in r.output and r.stderr.count("\n") <= 2  # Click: + "Try ..."
    assert not (tmp_path / "run").exists() and not (tmp_path / "m.json").exists()


def test_data_with_nothing_to_hold_out_is_one_error(tmp_path):
    """One name per language: no held-out names, so no honest validation NLL (the training loss was
    reported as 'val NLL/char') and eval divided by zero."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "A.txt").write_text("Smith\n")
    (tmp_path / "d" / "B.txt").write_text("Ivanov\n")
    r = run("train", "--arch", "rnn", "--data", tmp_path / "d", "--steps", 2, "--out", tmp_path / "run",
            "--save", tmp_path / "m.json")
    assert r.exit_code == 2, r.output
    assert "no names to hold out" in r.stderr and "Traceback" not in r.output and r.stderr.count("\n") == 1
    assert not (tmp_path / "run").exists() and not (tmp_path / "m.json").exists()


def test_save_to_a_folder_or_an_unwritable_place_fails_before_training(tiny_folder, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    r = run("train", "--arch", "rnn", "--data", tiny_folder, "--steps", 1, "--out", tmp_path / "run",
            "--save", folder)
    assert r.exit_code == 2, r.output
    assert "is a folder" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "models.json").exists() and not (tmp_path / "run").exists()
    (tmp_path / "afile").write_text("not a folder")
    r = run("train", "--arch", "rnn", "--data", tiny_folder, "--steps", 1, "--out", tmp_path / "run",
            "--save", tmp_path / "afile" / "m.json")
    assert r.exit_code == 2, r.output
    assert "cannot write --save" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("stop_at, saved", [(3, False), (8, True)])
def test_ctrl_c_saves_only_a_validated_model(tiny_folder, tmp_path, monkeypatch, stop_at, saved):
    """Ctrl-C (KeyboardInterrupt inside a step) before the first evaluation leaves --save alone;
    after one (at step 5 of 50), the best validated weights are saved. Never a traceback."""
    import seqkit.train.trainer

    real, calls = seqkit.train.trainer.lm_loss, []

    def loss(model, batch):
        calls.append(1)
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return real(model, batch)

    # seqkit's own name first: read after seqkit.train.trainer's is patched, undo would restore the patch
    monkeypatch.setattr(seqkit, "lm_loss", loss, raising=False)  # what `from seqkit import lm_loss` reads
    monkeypatch.setattr(seqkit.train.trainer, "lm_loss", loss)
    target = tmp_path / "m.json"
    r = run("train", "--arch", "gru", "--set", "hidden=8", "--set", "n_embd=8", "--data", tiny_folder, "--steps", 50,
            "--batch-size", 8, "--out", tmp_path / "run", "--save", target)
    assert r.exit_code == 0, r.output
    assert "interrupted at step" in r.stderr and "Traceback" not in r.output
    assert target.exists() == saved
    if saved:
        assert "the best validated model so far is saved" in r.stderr and r.stdout.strip() == str(target)
    else:
        assert "nothing saved to" in r.stderr and r.stdout == ""


@pytest.mark.parametrize("old", ["--model", "-m", "--hidden", "--layers", "--embd", "--heads", "--dropout",
                                 "--weight-decay", "--patience"])
def test_the_flags_removed_in_0_6_are_one_error_line(tiny_folder, old):
    """--model/-m (now --arch) and the setting flags (now --set key=value) were hidden in 0.5 and
    are gone since 0.6 (docs/migration.md): Click's unknown option, one line, exit 2."""
    r = run("train", old, "2", "--data", tiny_folder)
    assert r.exit_code == 2 and r.stderr.startswith(f"Error: No such option: {old}"), r.output
    assert len(r.stderr.strip().splitlines()) == 1


def test_train_defaults_and_export_per_architecture(tiny_folder, tmp_path):
    """Each architecture's defaults (model, training, balance) as before the kit; a --steps budget
    replaces the default epochs; the export is float16 with ONNX graphs unless --float32."""
    r = run("train", "--arch", "transformer", "--print-config")
    printed = json.loads(r.stdout)
    assert printed["model"] == {"n_layer": 4, "n_head": 4, "n_embd": 128, "dropout": 0.3, "max_len": 32}
    assert {k: printed["train"][k] for k in ("epochs", "lr", "batch_size", "warmup_steps", "schedule")} == \
        {"epochs": 20, "lr": 2e-3, "batch_size": 128, "warmup_steps": 200, "schedule": "cosine"}
    r = run("train", "--arch", "lstm", "--steps", 7, "--print-config")
    train = json.loads(r.stdout)["train"]
    assert train["steps"] == 7 and "epochs" not in train and train["weight_decay"] == 0.1
    r = run("train", "--arch", "rnn", "--data", tiny_folder, "--steps", 3, "--set", "hidden=8", "--float32",
            "--balance", 0.5, "--balance-cap", 2, "--out", tmp_path / "run", "--save", tmp_path / "m.json",
            "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["dtype"] == "float32" and meta["extra"]["train"]["balance"] == 0.5
    assert meta["extra"]["train"]["balance_cap"] == 2 and meta["extra"]["countries"] == ["Alpha", "Beta"]
    assert summary["train_seconds"] == meta["metrics"]["train_seconds"] > 0 and meta["metrics"]["epochs"] >= 0
    assert list(tmp_path.glob("m-*.onnx"))
    r = run("train", "--arch", "classifier", "--data", tiny_folder, "--steps", 3, "--out", tmp_path / "clf",
            "--save", tmp_path / "c.json", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "c.json").read_text())
    assert meta["dtype"] == "float16" and 0 <= meta["metrics"]["val_acc"] <= 1
    assert "known" not in meta["extra"] and "balance" not in meta["extra"]["train"]


def test_compressive_arch_trains_and_samples(tiny_folder, tmp_path):
    """--arch compressive: the compressive plugin's model, conditioned on the country (n_cond),
    trained by names train and sampled by the names front door."""
    from seqkit.host import model_types

    if "compressive" not in model_types():
        pytest.skip("the compressive plugin is not installed")
    r = run("train", "--arch", "compressive", "--data", tiny_folder, "--steps", 5, "--out", tmp_path / "run",
            "--save", tmp_path / "c.json", "--device", "cpu", "--threads", 1)
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "c.json").read_text())
    assert meta["model_type"] == "compressive" and meta["config"]["n_cond"] == 2 and meta["dtype"] == "float16"
    r = run("--country", "Beta", "--model", tmp_path / "c.json", "-n", 3, "--seed", 0, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["arch"] == "compressive" and out["backend"] == "onnx" and out["country"] == "Beta"  # its graphs


def test_eval_limit_and_its_table(tiny_folder, tiny_models):
    r = run("eval", "--data", tiny_folder, "-m", tiny_models["gru"], "--classifier", tiny_models["classifier"],
            "--per-country", 5, "--limit", 3, "-t", 0.5, "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["classifier"]["names"] == 3 and report["models"][0]["temperature"] == 0.5
    assert report["models"][0]["generated"] == 10
    r = run("eval", "--data", tiny_folder, "-m", tiny_models["gru"], "--classifier", tiny_models["classifier"],
            "--per-country", 5)
    assert r.exit_code == 0, r.output
    assert "5 names per country at T=1.0" in r.stdout and "NLL/char" in r.stdout and "gru" in r.stdout
    r = run("eval", "--data", tiny_folder, "-m", tiny_models["gru"], "-t", "inf")
    assert r.exit_code == 2 and "--temperature must be a finite number" in r.stderr
