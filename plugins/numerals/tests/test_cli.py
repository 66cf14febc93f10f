import json
import shutil
from pathlib import Path

import pytest
import seqkit_numerals.plugin as plugin
from seqkit_numerals.translate import Translator

from seqkit.testing import run_cli


def cli(*args, input=None):
    return run_cli(list(args), plugins=[plugin], input=input)


@pytest.fixture(scope="module")
def gru(tiny_models):
    return str(tiny_models["gru"][0])


def test_front_door_prints_the_models_words(gru):
    r = cli("num2words", "7", "--model", gru)
    assert r.exit_code == 0, r.output
    assert r.stdout == Translator.load(gru).words([7])[0] + "\n"
    assert r.stderr == ""


def test_several_numbers_stdin_and_separators(gru):
    r = cli("num2words", "1_0", "-", "999", "--model", gru, input="1\n\n2\n")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == Translator.load(gru).words([10, 1, 2, 999])


def test_check_marks_mismatches_and_warns_out_of_range(gru):
    r = cli("num2words", "123,456", "--model", gru, "--check")
    assert r.exit_code == 0, r.output
    assert "✗ num2words: one hundred and twenty-three thousand, four hundred and fifty-six" in r.stdout
    assert "outside the range the gru model was trained on (0 <= n < 10^3)" in r.stderr
    r = cli("num2words", "5", "17", "--model", gru, "--check")
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and all(line.endswith("✓") or "✗ num2words:" in line for line in lines)
    assert "match num2words" in r.stderr


def test_negative_number_is_an_argument_not_an_option(gru):
    r = cli("num2words", "-5", "--model", gru)
    assert r.exit_code == 0, r.output
    assert "-5 lies outside" in r.stderr


def test_json(gru):
    r = cli("num2words", "12", "999", "--model", gru, "--json", "--check")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["trained_range"] == [0, 1000] and data["lang"] == "en"
    assert [row["number"] for row in data["results"]] == [12, 999]
    assert data["results"][0]["reference"] == "twelve"
    assert set(data["results"][0]) == {"number", "text", "in_range", "reference", "match"}


@pytest.mark.parametrize("args, message", [
    (["abc"], "'abc' is not an integer"),
    (["1e5"], "scientific notation"),
    (["3.5"], "not an integer"),
    ([""], "empty number"),
    ([], "give at least one number"),
    (["1" + "0" * 400], "beyond what num2words supports"),
    (["5", "--lang", "xx"], "does not know the language 'xx'"),
    (["5", "--lang", "fr"], "writes 'en', not 'fr'"),
    (["5", "--modle", "x"], "no such option: --modle"),
])
def test_bad_input_is_one_line_exit_2(gru, args, message):
    r = cli("num2words", *args, "--model", gru)
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output and r.stderr.count("Error:") == 1


def test_huge_numbers_and_long_bad_lines_are_one_short_error(gru):
    """More than 4,300 digits is past what Python converts; a 10 MB bad line is not echoed whole."""
    for text in ("9" * 5000, "1," + "000," * 2000 + "000"):
        r = cli("num2words", text, "--model", gru)
        assert r.exit_code == 2 and "digits; no model (nor num2words)" in r.stderr, r.output
        assert "Traceback" not in r.output and len(r.stderr) < 300
    r = cli("num2words", "-", "--model", gru, input="x" * 10_000_000 + "\n")
    assert r.exit_code == 2 and "(10,000,000 characters)" in r.stderr and len(r.stderr) < 300


def test_unknown_and_corrupt_checkpoints(gru, tmp_path):
    r = cli("num2words", "5", "--model", "nope")
    assert r.exit_code == 2 and "no numerals checkpoint named 'nope'" in r.stderr
    folder = tmp_path / "ck"
    shutil.copytree(Translator.load(gru).path.parent, folder)
    meta = json.loads((folder / "gru.json").read_text())
    weights = folder / meta["weights"]
    weights.write_bytes(weights.read_bytes()[:100])
    r = cli("num2words", "5", "--model", str(folder / "gru.json"))
    assert r.exit_code == 2 and "corrupt" in r.stderr and "Traceback" not in r.output
    (folder / "gru.json").write_text("{not json")
    r = cli("num2words", "5", "--model", str(folder / "gru.json"))
    assert r.exit_code == 2 and "not a seqkit checkpoint" in r.stderr


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(data=None), "is not a numerals checkpoint"),
    (lambda m: m["tokenizer"].update(symbols=m["tokenizer"]["symbols"][:3]), "target tokenizer has"),
    (lambda m: m["extra"]["src_tokenizer"].update(symbols=["1"]), "source tokenizer has"),
])
def test_edited_checkpoint_json_is_one_error(gru, tmp_path, edit, message):
    folder = tmp_path / "ck"
    shutil.copytree(Translator.load(gru).path.parent, folder)
    meta = json.loads((folder / "gru.json").read_text())
    edit(meta)
    (folder / "gru.json").write_text(json.dumps(meta))
    r = cli("num2words", "5", "--model", str(folder / "gru.json"))
    assert r.exit_code == 2, r.output
    assert message in r.stderr and r.stderr.count("Error:") == 1 and "Traceback" not in r.output


def test_train_eval_and_data_commands(gru, tmp_path):
    out = tmp_path / "mini.json"
    r = cli("numerals", "train", "--arch", "transformer", "--max", "1000", "--size", "300",
            "--negatives", "0", "--steps", "5", "--set", "n_embd=32", "--set", "n_layer=1", "--set", "n_head=2",
            "--save", str(out), "--out", str(tmp_path / "run"), "--device", "cpu")
    assert r.exit_code == 0, r.output
    assert out.exists() and (tmp_path / "run" / "metrics.jsonl").exists() and r.stdout == f"{out}\n"
    assert "test split (15 unseen numbers)" in r.stderr and "deprecated" not in r.stderr
    assert sorted(p.suffix for p in tmp_path.glob("mini-*")) == [".onnx", ".onnx", ".safetensors"]
    assert json.loads(out.read_text())["dtype"] == "float16"
    r = cli("numerals", "eval", "--model", gru, "-n", "20", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert {k: report[k] for k in ("count", "seed", "errors_shown")} == {"count": 20, "seed": 0, "errors_shown": 0}
    assert set(report["models"][0]) == {"model", "path", "backend", "trained_range", "data", "rows"}
    rows = report["models"][0]["rows"]
    assert rows[0]["set"].startswith("test split") and rows[0]["n"] == 50
    assert [row["n"] for row in rows[1:]] == [1000, 20, 1, 1]  # 0..999 all in the data: no unseen set
    assert rows[1]["set"].startswith("every integer in [0, 1000)")
    assert rows[3]["set"] == "101,001,001,001 (out of range)"
    r = cli("numerals", "eval", "--model", gru, "-n", "20", "--errors", "1")
    assert r.exit_code == 0 and "exact match" in r.stdout and "gru: trained on 0 <= n < 10^3 (1,000 numbers" in r.stdout
    assert "  101001001001: got '" in r.stdout and "want 'one hundred and one billion, one million," in r.stdout
    r = cli("numerals", "eval", "--model", gru, "--limit", "3", "--json")
    assert r.exit_code == 0 and [row["n"] for row in json.loads(r.stdout)["models"][0]["rows"]] == [3, 3, 3, 1, 1]
    r = cli("numerals", "data", "--max", "1000", "--size", "100", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["splits"] == {"train": 90, "val": 5, "test": 5}
    r = cli("numerals", "train", "--arch", "lstm")
    assert r.exit_code == 2 and "--arch must be one of gru, transformer, not 'lstm'" in r.stderr


def test_train_saves_under_arch_and_lang_by_default(tmp_path):
    r = cli("numerals", "train", "--max", "1000", "--size", "300", "--negatives", "0", "--steps", "2",
            "--set", "n_embd=16", "--set", "hidden=16", "--out", str(tmp_path / "run"), "--device", "cpu")
    assert r.exit_code == 0, r.output
    from seqkit.io import user_checkpoint_path

    assert r.stdout.strip() == str(user_checkpoint_path("numerals", "gru-en"))


@pytest.mark.parametrize("model", ["gru", "transformer"])
def test_shipped_models_are_exact_on_the_probes_and_small_numbers(model):
    numbers = ["101001001001", "1001001001001", "0", "4", "13", "-7", "1,000", "999999999999999"]
    r = cli("num2words", *numbers, "--model", model, "--check", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["results"]
    assert [row["text"] for row in rows if not row["match"]] == []
    assert rows[0]["text"] == "one hundred and one billion, one million, one thousand and one"


@pytest.mark.parametrize("args, message", [
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--steps", "-1"], "--steps"),
    (["train", "--steps", "2", "--save", "/proc/no-such-dir/x.json"], "cannot write --save"),
    (["train", "--steps", "2", "--lr", "nan"], "--lr must be a positive number, not nan"),
    (["train", "--steps", "2", "--lr", "0"], "--lr must be a positive number"),
    (["train", "--steps", "2", "--set", "hidden=0"], "hidden must be at least 1, not 0"),
    (["train", "--steps", "2", "--set", "n_layer=0"], "n_layer must be at least 1, not 0"),
    (["train", "--steps", "2", "--set", "n_embd=abc"], "n_embd must be an integer, not 'abc'"),
    (["train", "--steps", "2", "--set", "dropout=1"], "dropout must be in [0, 1), not 1"),
    (["train", "--steps", "2", "--arch", "transformer", "--set", "n_head=3"], "must be divisible by n_head"),
    (["train", "--steps", "2", "--threads", "-2"], "--threads"),
    (["train", "--steps", "2", "--set", "warmup_steps=-5"], "warmup_steps"),
    (["train", "--steps", "2", "--set", "eval_every=-1"], "eval_every"),
    (["train", "--steps", "2", "--set", "hiden=64"], "'hiden' is not a setting of gru-seq2seq"),
    (["train", "--steps", "2", "--save", ".."], "invalid checkpoint name"),
    (["train", "--steps", "2", "--set", "n_head=8"], "n_head does not apply to --arch gru"),
    (["train", "--steps", "2", "--arch", "transformer", "--set", "hidden=64"], "hidden does not apply"),
    (["train", "--steps", "2", "--lang", "xx"], "does not know the language 'xx'"),
    (["train", "--steps", "2", "--negatives", "1"], "--negatives must be a fraction"),
    (["train", "--steps", "2", "--data", "pairs.tsv"], "numerals makes its data with num2words"),
    (["train", "--steps", "2", "--save-weights", "lats"], "--save-weights must be one of best, last"),
    (["eval", "-n", "-5"], "--count must be at least 1"),
    (["eval", "-n", "100000000"], "--count must be at most 100000, not 100000000"),
    (["eval", "--errors", "-1"], "--errors must be at least 0"),
    (["eval", "--data", "x.tsv"], "--data is not used"),
])
def test_bad_training_and_eval_options_fail_before_any_work(gru, tmp_path, args, message, monkeypatch):
    import seqkit_numerals.data

    monkeypatch.setattr(seqkit_numerals.data, "build_pairs", lambda *a, **k: pytest.fail("data built"))
    extra = ["--max", "1000", "--size", "300", "--out", str(tmp_path / "run")] if args[0] == "train" else []
    r = cli("numerals", *args, *extra, *(["--model", gru] if args[0] == "eval" else []))
    assert r.exit_code == 2, r.output
    assert message in r.stderr and "Traceback" not in r.output and r.stderr.count("\n") <= 2  # Click: + "Try ..."
    assert not (tmp_path / "run").exists()


def test_train_save_to_a_folder_or_an_unwritable_place_fails_before_training(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    args = ["numerals", "train", "--max", "1000", "--size", "300", "--steps", "2", "--out", str(tmp_path / "run")]
    r = cli(*args, "--save", str(folder))
    assert r.exit_code == 2, r.output
    assert "is a folder" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "models.json").exists() and not (tmp_path / "run").exists()
    (tmp_path / "afile").write_text("not a folder")
    r = cli(*args, "--save", str(tmp_path / "afile" / "x.json"))
    assert r.exit_code == 2 and "--save" in r.stderr and not (tmp_path / "run").exists()
    if Path("/proc/self").is_dir():  # a folder that exists and takes no files, even for root
        r = cli(*args, "--save", "/proc/x.json")
        assert r.exit_code == 2 and "cannot write --save /proc/x.json" in r.stderr, r.output
        assert not (tmp_path / "run").exists()


def test_data_show_takes_no_negative_count():
    r = cli("numerals", "data", "--max", "1000", "--size", "100", "--show", "-1")
    assert r.exit_code == 2 and "--show" in r.stderr


@pytest.mark.parametrize("stop_at, saved", [(3, False), (12, True)])
def test_ctrl_c_saves_only_a_validated_model(tmp_path, monkeypatch, stop_at, saved):
    """Ctrl-C (KeyboardInterrupt inside a step) before the first validation leaves --out alone;
    after one (every 5 steps here), the best validated weights are saved. Never a traceback."""
    import seqkit.train

    real, calls = seqkit.train.seq2seq_loss, []

    def loss(model, batch):
        calls.append(1)
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return real(model, batch)

    monkeypatch.setattr(seqkit, "seq2seq_loss", loss)  # the plugin imports it from seqkit
    out = tmp_path / "m.json"
    r = cli("numerals", "train", "--max", "1000", "--size", "300", "--negatives", "0", "--steps", "50",
            "--set", "eval_every=5", "--set", "n_embd=16", "--set", "hidden=16", "--save", str(out),
            "--out", str(tmp_path / "run"), "--device", "cpu")
    assert r.exit_code == 0, r.output
    assert "interrupted at step" in r.stderr and "Traceback" not in r.output
    assert out.exists() == saved
    assert ("nothing saved to" in r.stderr) != saved


def test_many_numbers_are_written_on_one_thread(gru, monkeypatch):
    """With torch's default threads (2 on the 2-core dev machine) 8,000 numbers from stdin took 42 s
    instead of 3 s on one: the command must pick one thread however many numbers it gets."""
    import torch

    calls = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (calls.append(n), real(n)))
    monkeypatch.setenv("SEQKIT_BACKEND", "torch")  # ONNX Runtime's sessions have one thread already
    r = cli("num2words", "-", "--model", gru, input="\n".join(map(str, range(5000))) + "\n")
    assert r.exit_code == 0, r.output
    assert len(r.stdout.splitlines()) == 5000 and set(calls) == {1}  # stdin streams: once per batch


@pytest.mark.parametrize("args", [["train", "--run-dir", "r"], ["train", "--export", "last"], ["train", "--model", "gru"],
                                  ["train", "-m", "gru"], ["train", "--n-embd", "8"], ["train", "--hidden", "8"],
                                  ["train", "--layers", "1"], ["train", "--heads", "2"], ["train", "--warmup", "3"],
                                  ["train", "--schedule", "linear"], ["train", "--eval-every", "7"],
                                  ["data", "-n", "2"]])
def test_the_spellings_removed_in_0_6_are_one_error_line(tmp_path, monkeypatch, args):
    """The train flags hidden in 0.5 (now --out, --save-weights, --arch, --set key=value) and
    `numerals data -n` (now --show) are gone since 0.6 (docs/migration.md): one line, exit 2."""
    monkeypatch.chdir(tmp_path)
    r = cli("numerals", *args)
    assert r.exit_code == 2 and r.stderr.startswith(f"Error: No such option: {args[1]}"), r.output
    assert len(r.stderr.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []


def test_train_without_device_flag_scores_the_test_split(tmp_path):
    # run.train holds only the flags given: without --device the test-split scoring used to raise KeyError
    r = cli("numerals", "train", "--max", "1000", "--size", "300", "--negatives", "0", "--steps", "2",
            "--set", "n_embd=16", "--set", "hidden=16", "--out", str(tmp_path / "run"), "--json")
    assert r.exit_code == 0, r.output
    import json

    summary = json.loads(r.stdout)
    assert 0.0 <= summary["test_exact"] <= 1.0 and summary["test_n"] > 0
