import json

import pytest


def test_tiny_model_learns(tiny_run):
    result = json.loads(tiny_run["result"].stdout)
    run = tiny_run["ckpt"].parent
    hist = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    hist = [row for row in hist if row.get("event") == "eval"]
    assert len(hist) >= 3
    assert hist[0]["val_loss"] > hist[-1]["val_loss"]
    assert result["best_val_loss"] < 1.0  # from ln(vocab) ~ 3.6 at the start
    assert (run / "loss.png").stat().st_size > 1000
    assert "epoch   1" in tiny_run["result"].stderr


def test_train_exports_float16_with_its_metrics(tiny_run):
    """--save NAME: the best model, float16, with val loss and accuracy, in the user's checkpoints."""
    result = json.loads(tiny_run["result"].stdout)
    saved = tiny_run["root"] / "seqkit-data" / "checkpoints" / "abc" / "tiny.json"
    assert result["saved"] == str(saved)
    meta = json.loads(saved.read_text())
    assert meta["dtype"] == "float16" and meta["model_type"] == "rnn-lm"
    assert meta["metrics"]["val_loss"] == result["best_val_loss"] and 0 < meta["metrics"]["val_acc"] <= 1
    assert meta["config"]["hidden"] == 48 and meta["extra"]["primer"] == "<start>\nX:"


@pytest.mark.parametrize("args", [["train", "--model", "gru"], ["train", "--hidden", "8"], ["train", "--layers", "2"],
                                  ["train", "--embd", "4"], ["train", "--dropout", "0.1"],
                                  ["train", "--optimizer", "rmsprop"], ["train", "--schedule", "cosine"],
                                  ["train", "--patience", "0"], ["sweep", "--model", "lstm"]])
def test_the_flags_removed_in_0_6_are_one_error_line(h, tmp_path, args):
    """Before 0.5 settings were flags (now --set key=value) and the architecture --model (now
    --arch); hidden in 0.5, gone since 0.6 (docs/migration.md): one line, exit 2."""
    _fails(h.cli(["abc", *args], tmp_path), f"No such option: {args[1]}")


def test_a_bad_setting_is_one_error_line(h, tmp_path):
    f = tmp_path / "data.txt"
    f.write_text(h.course_text(h.TUNES, n=2))
    _fails(h.cli(["abc", "train", "--data", f, "--set", "hidden=many"], tmp_path), "hidden must be an integer")


def test_generate_seeded_and_midi(h, tiny_run, tmp_path):
    args = ["abc", "generate", "-m", tiny_run["ckpt"], "-n", "3", "-t", "0.3", "--seed", "7",
            "--device", "cpu"]
    a = h.cli(args, tmp_path)
    b = h.cli(args, tmp_path)
    assert a.exit_code == 0, a.output
    assert a.stdout == b.stdout and a.stdout.startswith("X:")
    c = h.cli(args + ["--out", tmp_path / "t.abc", "--midi", tmp_path / "mid", "--json"], tmp_path)
    assert c.exit_code == 0, c.output
    rows = json.loads(c.stdout)["results"]
    assert (tmp_path / "t.abc").read_text().startswith("X:")
    assert all(r["ended"] for r in rows)  # a memorised corpus: every tune reaches <end>
    converted = [r for r in rows if "mid" in r.get("saved", {})]
    assert converted and all((tmp_path / "mid" / f"tune_{r['index']}.mid").exists() for r in converted)


def test_eval_json(h, tiny_run, tmp_path):
    r = h.cli(["abc", "eval", "-m", tiny_run["ckpt"], "--data", tiny_run["val"], "-n", "4",
               "--temperatures", "0.5,1", "--max-chars", "200", "--json", "--device", "cpu"], tmp_path)
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["val_loss"] < 1.0 and rep["chars"] > 100
    assert [g["temperature"] for g in rep["generation"]] == [0.5, 1.0]
    assert rep["generation"][0]["valid"] >= 2
    v = rep["generation"][0]["validity"]  # the validity report (validity.py), with the mask on
    assert v["valid_header"] == 4 and v["ended_within_cap"] + v["ended_at_cap"] == 4
    assert 0 <= v["bars_add_up_share"] <= 1 and v["converts_without_repairs"] <= v["converts"]
    assert rep["engine"] == "auto" and rep["seed"] == 0 and rep["tunes"] == 3


def test_eval_limit_and_table(h, tiny_run, tmp_path):
    """--limit N (the eval kit's quick check) scores the first N held-out tunes; without --json the
    report is the loss line and the table of generated tunes."""
    r = h.cli(["abc", "eval", "-m", tiny_run["ckpt"], "--data", tiny_run["val"], "--limit", "1", "-n", "2",
               "--temperatures", "0.5", "--max-chars", "200", "--device", "cpu"], tmp_path)
    assert r.exit_code == 0, r.output
    assert "val loss" in r.stdout and "on 1 tunes" in r.stdout
    assert "generated tunes (format mask on; MIDI by auto; seed 0)" in r.stdout and "0.5" in r.stdout


def test_heatmap_neurons_and_find(h, tiny_run, tmp_path):
    text = tmp_path / "tune.abc"
    text.write_text("<start>\n" + h.TUNES[0] + "\n<end>\n")
    out = tmp_path / "maps"
    r = h.cli(["abc", "heatmap", "-m", tiny_run["ckpt"], "--text", text, "--neurons", "0,5",
               "--find", "2", "--out", out, "--json", "--device", "cpu"], tmp_path)
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert len(rep["ranking"]) == 2 and len(rep["files"]) >= 3
    assert (out / "neuron_000.png").stat().st_size > 2000
    r = h.cli(["abc", "heatmap", "-m", tiny_run["ckpt"], "--generate", "--neurons", "1",
               "--out", out, "--device", "cpu"], tmp_path)
    assert r.exit_code == 0 and (out / "neuron_001.png").exists()
    r = h.cli(["abc", "heatmap", "-m", tiny_run["ckpt"], "--generate", "--neurons", "999"], tmp_path)
    assert r.exit_code == 2 and "units 0..47" in r.stderr


def test_sweep_tiny(h, tiny_run, tmp_path):
    out = tmp_path / "sweep"
    r = h.cli(["abc", "sweep", "--data", tiny_run["train"], "--val", tiny_run["val"],
               "--arch", "lstm,gru", "--hidden", "16", "--dropout", "0,0.1", "--mode", "one-at-a-time",
               "--epochs", "1", "--batch-size", "16", "--seq-len", "32", "--out", out,
               "--device", "cpu"], tmp_path)
    assert r.exit_code == 0, r.output
    rows = (out / "results.csv").read_text().strip().splitlines()
    assert rows[0].startswith("model,hidden") and len(rows) == 1 + 3  # base + gru + dropout 0.1
    assert (out / "sweep_model.png").exists() and (out / "sweep_dropout.png").exists()
    assert "best val loss" in (out / "results.md").read_text()
    again = h.cli(["abc", "sweep", "--data", tiny_run["train"], "--val", tiny_run["val"],
                   "--arch", "lstm,gru", "--hidden", "16", "--dropout", "0,0.1", "--mode",
                   "one-at-a-time", "--epochs", "1", "--batch-size", "16", "--seq-len", "32",
                   "--out", out, "--device", "cpu"], tmp_path)
    assert again.exit_code == 0 and again.stderr.count("done before") == 3


def test_to_midi_fixtures(h, tmp_path):
    folder = h.shared("midi-fixtures", "abc")
    import mido

    for f in sorted(folder.glob("*.abc")):
        out = tmp_path / (f.stem + ".mid")
        r = h.cli(["abc", "to-midi", f, "--out", out], tmp_path)
        assert r.exit_code == 0, r.output
        notes = sum(1 for t in mido.MidiFile(out).tracks for m in t if m.type == "note_on" and m.velocity)
        assert notes > 20, f


def test_to_midi_several_tunes(h, tmp_path):
    f = tmp_path / "two.abc"
    f.write_text(h.TUNES[0] + "\n\n" + h.TUNES[1] + "\n")
    r = h.cli(["abc", "to-midi", f, "--json"], tmp_path)
    assert r.exit_code == 0, r.output
    assert [x["midi"] for x in json.loads(r.stdout)] == [str(tmp_path / "two_1.mid"), str(tmp_path / "two_2.mid")]


# ------------------------------------------------------------------ bad input: one line, exit 2

def _fails(r, *needles):
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    line = r.stderr.strip()
    assert line.startswith("Error: ") and "\n" not in line, line
    for n in needles:
        assert n in line, line


@pytest.mark.parametrize("content, needle", [
    (None, "does not exist"),
    (b"", "is empty"),
    (b"no tunes in here\n", "no tunes"),
    (b"<start>\n<end>\n", "no <start> ... <end> tune blocks"),
    (bytes(range(256)) * 4, "binary"),
])
def test_train_bad_data(h, tmp_path, content, needle):
    f = tmp_path / "data.txt"
    if content is not None:
        f.write_bytes(content)
    _fails(h.cli(["abc", "train", "--data", f, "--epochs", "1", "--out", tmp_path / "run"], tmp_path), needle)


def test_bad_primer(h, tiny_run, tmp_path):
    r = h.cli(["abc", "generate", "-m", tiny_run["ckpt"], "--primer", "<start>\nX:1\nT:Ç€"], tmp_path)
    _fails(r, "never saw", "'Ç'", "'€'")


def test_to_midi_invalid(h, tmp_path):
    f = tmp_path / "bad.abc"
    f.write_text("X:1\nT:broken\nK:C\n|:abc|]]]][[[\n")
    _fails(h.cli(["abc", "to-midi", f], tmp_path), "cannot convert")
    assert not (tmp_path / "bad.mid").exists()
    _fails(h.cli(["abc", "to-midi", tmp_path / "missing.abc"], tmp_path), "does not exist")


def test_corrupt_checkpoint(h, tiny_run, tmp_path):
    import shutil

    meta = json.loads(tiny_run["ckpt"].read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(tiny_run["ckpt"].read_text())
    blob = (tiny_run["ckpt"].parent / meta["weights"]).read_bytes()
    (tmp_path / meta["weights"]).write_bytes(blob[: len(blob) // 2])
    _fails(h.cli(["abc", "generate", "-m", bad], tmp_path), "corrupt")
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    _fails(h.cli(["abc", "eval", "-m", junk, "--data", tiny_run["val"]], tmp_path), "not a seqkit checkpoint")
    _fails(h.cli(["abc", "generate", "-m", "no-such-model"], tmp_path), "no abc checkpoint named")
    shutil.rmtree(tmp_path / "seqkit-data", ignore_errors=True)


def test_shipped_model_generates(h, tmp_path):
    r = h.cli(["abc", "generate", "-n", "2", "--max-chars", "60", "--seed", "0", "--device", "cpu",
               "--json"], tmp_path)
    assert r.exit_code == 0, r.output
    tunes = json.loads(r.stdout)["results"]
    assert len(tunes) == 2 and all(t["text"].startswith("X:") for t in tunes)
    assert json.loads(r.stdout)["model"].endswith("checkpoints/lstm.json")


def test_checkpoint_with_a_cut_tokenizer(h, tiny_run, tmp_path):
    meta = json.loads(tiny_run["ckpt"].read_text())
    meta["tokenizer"]["symbols"] = meta["tokenizer"]["symbols"][:3]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(meta))
    (tmp_path / meta["weights"]).write_bytes((tiny_run["ckpt"].parent / meta["weights"]).read_bytes())
    _fails(h.cli(["abc", "generate", "-m", bad], tmp_path), "its tokenizer has", "the model was built for")


def test_to_midi_into_a_folder_and_of_a_folder(h, tmp_path):
    f = tmp_path / "one.abc"
    f.write_text(h.TUNES[0] + "\n")
    (tmp_path / "outdir").mkdir()
    r = h.cli(["abc", "to-midi", f, "--out", tmp_path / "outdir"], tmp_path)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "outdir" / "one.mid").stat().st_size > 0
    (tmp_path / "empty.abc").write_text("")
    _fails(h.cli(["abc", "to-midi", tmp_path], tmp_path), "is a folder")


@pytest.mark.parametrize("name", ["..", ""])
def test_train_save_name_must_be_plain(h, tmp_path, name):
    f = tmp_path / "data.txt"
    f.write_text(h.course_text(h.TUNES, n=2))
    r = h.cli(["abc", "train", "--data", f, "--steps", "1", "--set", "hidden=8", "--out", tmp_path / "run",
               "--save", name], tmp_path)
    _fails(r, "invalid checkpoint name")
    assert not (tmp_path / "run" / "last.json").exists()


@pytest.mark.parametrize("args, needle", [
    (["--generate", "--neurons", "1", "--max-chars", "0"], "--max-chars and --width must be at least 1"),
    (["--generate", "--neurons", "1", "--width", "-3"], "--max-chars and --width must be at least 1"),
    (["--generate", "--find", "100000"], "this model has only"),
])
def test_heatmap_bad_sizes(h, tiny_run, tmp_path, args, needle):
    _fails(h.cli(["abc", "heatmap", "-m", tiny_run["ckpt"], "--out", tmp_path / "heat", *args], tmp_path), needle)
    assert not (tmp_path / "heat").exists()


@pytest.mark.parametrize("args, needle", [
    (["--temperatures", "1,-1"], "--temperatures must be finite numbers >= 0"),
    (["--temperatures", "nan"], "--temperatures must be finite numbers >= 0"),
    (["--temperatures", "0.5,inf"], "--temperatures must be finite numbers >= 0"),
    (["--max-chars", "0"], "--max-chars must be at least 1"),
    (["-n", "-1"], "--count must be at least 0"),
])
def test_eval_bad_temperatures_and_limits(h, tiny_run, tmp_path, args, needle):
    r = h.cli(["abc", "eval", "-m", tiny_run["ckpt"], "--data", tiny_run["val"], "-n", "1", *args], tmp_path)
    _fails(r, needle)


def test_infinite_temperature_is_one_error(h, tiny_run, tmp_path):
    _fails(h.cli(["abc", "generate", "-m", tiny_run["ckpt"], "-t", "inf", "-n", "1"], tmp_path),
           "--temperature must be a finite number")


# ------------------------------------------------------------------ outputs of the wrong kind

@pytest.mark.parametrize("command, option, kind", [
    ("train", "--out", "file"), ("sweep", "--out", "file"), ("heatmap", "--out", "file"),
    ("generate", "--midi", "file"), ("eval", "--samples", "file"), ("generate", "--out", "folder"),
])
def test_output_of_the_wrong_kind_is_one_error_before_any_work(h, tiny_run, tmp_path, command, option, kind):
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("keep me")
    else:
        target.mkdir()
    data = ["--data", tiny_run["train"], "--val", tiny_run["val"], "--steps", "1"]
    args = {"train": [*data, "--set", "hidden=8"], "sweep": [*data, "--hidden", "8"],
            "heatmap": ["-m", tiny_run["ckpt"], "--generate", "--neurons", "1"],
            "generate": ["-m", tiny_run["ckpt"], "-n", "1", "--midi", tmp_path / "mid"],
            "eval": ["-m", tiny_run["ckpt"], "--data", tiny_run["val"], "-n", "1"]}[command]
    r = h.cli(["abc", command, *args, option, target, "--device", "cpu"], tmp_path)
    if command == "train":  # the train kit's check of the run folder
        _fails(r, str(target), "is a file; give a folder for the run")
    else:
        _fails(r, option, "is a file, not a folder" if kind == "file" else "is a folder; give a file name")
    assert target.is_dir() or target.read_text() == "keep me"
    assert not (tmp_path / "mid").exists()  # generate --out DIR: no MIDI written before the error


@pytest.mark.parametrize("args, needle", [
    (["--lr", "nan"], "--lr must be a positive number"),
    (["--lr", "0"], "--lr must be a positive number"),
    (["--batch-size", "0"], "'--batch-size'"),
    (["--set", "patience=-1"], "patience must be 0 or more"),
    (["--epochs", "-2"], "'--epochs'"),
    (["--seq-len", "1"], "--seq-len must be at least 2"),
    (["--set", "dropout=1"], "dropout must be in [0, 1)"),
])
def test_train_bad_numbers(h, tmp_path, args, needle):
    f = tmp_path / "data.txt"
    f.write_text(h.course_text(h.TUNES, n=2))
    _fails(h.cli(["abc", "train", "--data", f, "--set", "hidden=8", "--out", tmp_path / "run", *args], tmp_path),
           needle)
    assert not (tmp_path / "run").exists()


def test_train_negative_threads_is_an_error(h, tmp_path):
    """Regression (#13): abc's own copy of --threads had no minimum: torch's traceback, exit 1."""
    f = tmp_path / "data.txt"
    f.write_text(h.course_text(h.TUNES, n=2))
    r = h.cli(["abc", "train", "--data", f, "--set", "hidden=8", "--out", tmp_path / "run", "--threads", "-2"], tmp_path)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.stderr.startswith("Error: ") and "--threads" in r.stderr.splitlines()[0]


def test_unknown_engine_without_midi(h, tiny_run, tmp_path):
    _fails(h.cli(["abc", "generate", "-m", tiny_run["ckpt"], "-n", "1", "--engine", "lilypond"], tmp_path),
           "--engine must be one of auto, music21, abc2midi")


def test_resume_reports_only_new_epochs(h, tiny_run, tmp_path):
    args = ["abc", "train", "--data", tiny_run["train"], "--val", tiny_run["val"], "--set", "hidden=8",
            "--set", "n_embd=8", "--seq-len", "32", "--batch-size", "16", "--set", "patience=0",
            "--out", tmp_path / "run", "--save", "resumed", "--device", "cpu"]
    first = h.cli(args + ["--epochs", "1"], tmp_path)
    assert first.exit_code == 0, first.output
    again = h.cli(args + ["--epochs", "2", "--resume"], tmp_path)
    assert again.exit_code == 0, again.output
    assert "epoch   1 " not in again.stderr and "epoch   2 " in again.stderr


def test_interrupted_before_any_evaluation_saves_nothing_under_the_name(h, tiny_run, tmp_path, monkeypatch):
    from seqkit_abc.training import SliceDataset

    calls = []

    def ctrl_c(self, i):
        calls.append(i)
        if len(calls) > 20:  # Ctrl-C in the second batch, long before the end of epoch 1
            raise KeyboardInterrupt
        return real(self, i)

    real = SliceDataset.__getitem__
    monkeypatch.setattr(SliceDataset, "__getitem__", ctrl_c)
    r = h.cli(["abc", "train", "--data", tiny_run["train"], "--val", tiny_run["val"], "--set", "hidden=8",
               "--batch-size", "16", "--epochs", "1", "--out", tmp_path / "run", "--save", "mine",
               "--device", "cpu"], tmp_path)
    assert r.exit_code == 0, r.output
    assert "interrupted before the first evaluation: nothing saved to" in r.stderr and "mine.json" in r.stderr
    assert not (tmp_path / "seqkit-data" / "checkpoints" / "abc" / "mine.json").exists()
    assert (tmp_path / "run" / "last.json").exists()  # the run itself can be resumed


def test_sweep_with_steps_reports_fractional_epochs(h, tiny_run, tmp_path):
    out = tmp_path / "sweep"
    r = h.cli(["abc", "sweep", "--data", tiny_run["train"], "--val", tiny_run["val"], "--hidden", "8",
               "--steps", "2", "--epochs", "0", "--batch-size", "4", "--seq-len", "32", "--out", out,
               "--device", "cpu", "--json"], tmp_path)
    assert r.exit_code == 0, r.output
    run = json.loads(r.stdout)["runs"][0]
    # the stream of 60 short tunes holds far more than 2 batches of 4 slices: 2 steps < 1 epoch
    assert 0 < run["epochs"] < 1
    assert run["sec_per_epoch"] > 0


def test_ctrl_c_stops_the_sweep_and_the_run_resumes_later(h, tiny_run, tmp_path, monkeypatch):
    from seqkit_abc.training import SliceDataset

    out = tmp_path / "sweep"
    args = ["abc", "sweep", "--data", tiny_run["train"], "--val", tiny_run["val"], "--hidden", "8,12,16",
            "--epochs", "1", "--batch-size", "16", "--seq-len", "32", "--out", out, "--device", "cpu"]
    real, calls = SliceDataset.__getitem__, []

    def ctrl_c(self, i):
        calls.append(i)
        if len(calls) == len(self) + 20:  # one epoch of run 1, then 20 items into run 2
            raise KeyboardInterrupt
        return real(self, i)

    monkeypatch.setattr(SliceDataset, "__getitem__", ctrl_c)
    r = h.cli(args, tmp_path)
    assert r.exit_code == 0, r.output
    assert "interrupted" in r.stderr and "[3/3]" not in r.stderr  # the third run never started
    finished = sorted(p.parent.name for p in out.glob("*/result.json"))
    assert finished == ["lstm-h8-l1-d0-adam-lr0.004-b16-s32"]
    assert (out / "lstm-h12-l1-d0-adam-lr0.004-b16-s32" / "last.json").exists()
    monkeypatch.setattr(SliceDataset, "__getitem__", real)
    again = h.cli(args, tmp_path)
    assert again.exit_code == 0, again.output
    assert again.stderr.count("done before") == 1 and "resuming" in again.stderr
    assert len((out / "results.csv").read_text().strip().splitlines()) == 1 + 3


def test_eval_says_when_the_data_has_characters_the_model_never_saw(h, tiny_run, tmp_path):
    other = tmp_path / "other.abc"
    other.write_text("X:1\nT:Zq\u00e9\nK:C\nCDE|\n")  # Z, q and \u00e9 are not in the tiny corpus
    r = h.cli(["abc", "eval", "-m", tiny_run["ckpt"], "--data", other, "-n", "0", "--json",
               "--device", "cpu"], tmp_path)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["unknown_chars"] == 3
    assert "3 characters of" in r.stderr and "not in the model's vocabulary" in r.stderr


# ------------------------------------------------------------------ bounded work, early checks (issue 15)

def test_train_checks_the_run_folder_before_reading_data(h, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.json").write_text("{}")  # an earlier run
    r = h.cli(["abc", "train", "--data", tmp_path / "missing.txt", "--out", run], tmp_path)
    _fails(r, "already holds a run")


def test_generate_checks_out_before_sampling(h, tiny_run, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = h.cli(["abc", "generate", "-m", tiny_run["ckpt"], "-n", "1", "--out", blocker / "tunes.abc"], tmp_path)
    _fails(r, f"cannot write --out {blocker / 'tunes.abc'}")
    assert ".tmp" not in r.stderr


def test_generate_count_and_length_are_bounded(h, tiny_run, tmp_path):
    for args, flag in ((["-n", "1000000"], "--count must be at most 1000"),
                       (["--max-chars", "100000000"], "--max-chars must be at most 100000")):
        r = h.cli(["abc", "generate", "-m", tiny_run["ckpt"], *args], tmp_path)
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
        assert flag in r.stderr


def test_to_midi_refuses_a_tune_too_long_to_convert(h, tmp_path):
    f = tmp_path / "long.abc"
    f.write_text("X:1\nT:long\nK:C\n" + "abc|" * 100_000 + "\n")
    _fails(h.cli(["abc", "to-midi", f], tmp_path), "characters; at most 100,000 are converted")


# ------------------------------------------------------------------ the compressive model as an architecture

def test_compressive_arch_trains_and_samples(h, tiny_run, tmp_path):
    """`--arch compressive` trains the compressive plugin's model on the same data (a tiny budget)."""
    pytest.importorskip("seqkit_compressive")
    r = h.cli(["abc", "train", "--arch", "compressive", "--data", tiny_run["train"], "--val", tiny_run["val"],
               "--set", "n_embd=32", "--set", "n_head=2", "--set", "n_layer=1", "--steps", "2",
               "--seq-len", "48", "--batch-size", "8", "--out", tmp_path / "run", "--device", "cpu", "--json"],
              tmp_path)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["arch"] == "compressive" and summary["steps"] == 2 and summary["best_val_loss"] > 0
    assert summary["saved"].endswith("my-compressive.json")
    assert json.loads((tmp_path / "run" / "best.json").read_text())["config"]["seg_len"] == 32
    g = h.cli(["abc", "generate", "-m", "my-compressive", "-n", "2", "--max-chars", "20", "--seed", "0",
               "--device", "cpu", "--json"], tmp_path)
    assert g.exit_code == 0, g.output
    assert len(json.loads(g.stdout)["results"]) == 2
    _fails(h.cli(["abc", "heatmap", "-m", "my-compressive", "--generate", "--neurons", "1",
                  "--out", tmp_path / "heat"], tmp_path), "heatmaps need a recurrent model")


def test_init_continues_a_model_on_data_with_its_vocabulary(h, tiny_run, tmp_path):
    """--init starts from a trained model; data whose characters differ (same count, other symbols:
    the ids would mean other characters) is one Error line, not a silently scrambled model."""
    train, val = tiny_run["train"], tiny_run["val"]
    common = ["--init", str(tiny_run["ckpt"]), "--steps", "2", "--set", "eval_every=2", "--batch-size", "4",
              "--seq-len", "16", "--device", "cpu"]
    r = h.cli(["abc", "train", "--data", train, "--val", val, *common, "--out", tmp_path / "same", "--save",
               "tiny-more", "--json"], tmp_path)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["best_val_loss"] < 1.5  # it starts where the tiny model stopped
    text = train.read_text()
    absent = next(c for c in "QJVYUI" if c not in text)
    swapped = tmp_path / "swapped.txt"
    swapped.write_text(text.replace("G", absent))  # the same number of symbols, one of them another
    r = h.cli(["abc", "train", "--data", swapped, "--val", swapped, *common, "--out", tmp_path / "other"],
              tmp_path)
    assert r.exit_code == 2 and "Traceback" not in r.output  # after the data's summary line, one Error line
    assert r.stderr.strip().splitlines()[-1].startswith("Error: --init ") and "another vocabulary" in r.stderr
