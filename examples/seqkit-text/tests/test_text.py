"""seqkit-text, tested the way any third-party plugin can be: through seqkit.testing."""

import json
import math

import pytest
import seqkit_text.plugin as plugin
from seqkit_text.tokenizer import ByteTokenizer

from seqkit.testing import run_cli, tiny_corpus, write_corpus

SMALL = ["--context", "32", "--set", "n_layer=1", "--set", "n_embd=32", "--set", "n_head=2", "--batch-size", "16",
         "--lr", "3e-3", "--set", "warmup_steps=0", "--device", "cpu"]
SMALL_RNN = ["--context", "32", "--set", "n_layer=1", "--set", "hidden=32", "--batch-size", "16",
             "--lr", "3e-3", "--set", "warmup_steps=0", "--device", "cpu"]


def text(*args):
    return run_cli(["text", *map(str, args)], plugins=[plugin])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus") / "corpus.txt", tiny_corpus(200))


def test_plugin_registers_task_dataset_tokenizer_and_command():
    result = run_cli(["plugins", "--json"], plugins=[plugin])
    assert result.exit_code == 0, result.output
    registered = {}
    for entry in json.loads(result.stdout):
        for kind, names in entry["registered"].items():
            registered.setdefault(kind, []).extend(names)
    assert "text" in registered["tasks"]
    assert "text-file" in registered["datasets"]
    assert "bytes" in registered["tokenizers"]
    assert "text" in registered["commands"]


def test_train_generate_eval(corpus, tmp_path):
    result = text("train", "--data", corpus, "--steps", 80, "--out", tmp_path / "run",
                  "--json", *SMALL)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    n_chars = len(set(corpus.read_text()))
    # far better than guessing uniformly among the corpus' characters
    assert summary["val_loss"] < 0.6 * math.log(n_chars)
    assert summary["val_bits_per_token"] == pytest.approx(summary["val_loss"] / math.log(2))

    first = text("generate", "--primer", "the cat", "--length", 40, "--seed", 3, "--device", "cpu")
    again = text("generate", "--primer", "the cat", "--length", 40, "--seed", 3, "--device", "cpu")
    assert first.exit_code == 0, first.output
    assert first.stdout == again.stdout  # --seed makes it deterministic
    assert first.stdout.startswith("the cat")

    many = text("generate", "-p", "a ", "-n", 3, "-l", 10, "--seed", 0, "--json", "--device", "cpu")
    samples = json.loads(many.stdout)["results"]
    assert len(samples) == 3
    assert all(s["text"].startswith("a ") and len(s["text"]) == 2 + 10 for s in samples)

    scores = text("eval", corpus, "--json", "--device", "cpu")
    assert scores.exit_code == 0, scores.output
    scores = json.loads(scores.stdout)
    assert scores["bits_per_token"] == pytest.approx(scores["loss"] / math.log(2))
    assert scores["loss"] < 0.6 * math.log(n_chars) and scores["unknown_symbols"] == 0

    listed = run_cli(["models", "--task", "text", "--json"], plugins=[plugin])
    assert [row["name"] for row in json.loads(listed.stdout)] == ["default"]


def test_rnn_with_byte_tokenizer_reads_any_primer(corpus, tmp_path):
    result = text("train", "--data", corpus, "--arch", "rnn", "--tokenizer", "bytes", "--steps", 10,
                  "--save", "bytes-rnn", "--out", tmp_path / "run", *SMALL_RNN)
    assert result.exit_code == 0, result.output
    out = text("generate", "--model", "bytes-rnn", "--primer", "café ☕", "-l", 5, "--seed", 0,
               "--device", "cpu")
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("café ☕")
    assert "vocabulary" not in out.stderr


def test_compressive_trains_on_streams_and_samples(corpus, tmp_path):
    """--arch compressive (the compressive plugin's model, where installed) reads the corpus as
    streams, memories carried by the Trainer, and is validated on the held-out text as one stream."""
    from seqkit.host import model_types

    if "compressive" not in model_types():
        pytest.skip("the compressive plugin is not installed")
    result = text("train", "--data", corpus, "--arch", "compressive", "--steps", 40, "--context", 32,
                  "--set", "n_layer=1", "--set", "n_embd=32", "--set", "n_head=2", "--set", "seg_len=16",
                  "--set", "mem_len=16", "--set", "cmem_len=8", "--batch-size", 8, "--lr", "3e-3",
                  "--set", "memory_reset=0.1", "--save", "comp", "--out", tmp_path / "run", "--device", "cpu",
                  "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["val_loss"] < 0.8 * math.log(len(set(corpus.read_text())))
    meta = json.loads((tmp_path / "run" / "best.json").read_text())
    assert meta["model_type"] == "compressive" and meta["extra"]["streams"] is True
    out = text("generate", "--model", "comp", "--primer", "the ", "-l", 20, "--seed", 0, "--device", "cpu")
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("the ")


def test_char_model_warns_about_unknown_primer_characters(corpus, tmp_path):
    assert text("train", "--data", corpus, "--steps", 2, "--out", tmp_path / "r", *SMALL).exit_code == 0
    out = text("generate", "--primer", "Zoë", "-l", 3, "--device", "cpu")
    assert out.exit_code == 0, out.output
    assert "read as <unk>: 'Z' 'ë'" in out.stderr


def test_byte_tokenizer_round_trip():
    tok = ByteTokenizer()
    s = "naïve — 日本語\n"
    ids = tok.encode(s, add_bos=True, add_eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id and max(ids) < tok.vocab_size
    assert tok.decode(ids) == s
    assert ByteTokenizer.from_dict(json.loads(json.dumps(tok.to_dict()))).encode(s) == tok.encode(s)


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "missing.txt"], "missing.txt does not exist"),
    (["generate", "--primer", "x"], "no text model yet"),
    (["eval", "held.txt", "--model", "nope"], "no text checkpoint named 'nope'"),
    (["eval", "missing.txt"], "TEXT_FILE missing.txt does not exist"),
    (["eval", "held.txt"], "no text model yet"),
    (["train", "--data", "missing.txt", "--save", ".."], "'..'"),
    (["generate", "--top-p", "0"], "--top-p must be above 0"),
    (["train", "--data", "missing.txt", "--set", "n_head=3"], "n_embd (128) must be divisible by n_head (3)"),
    (["train", "--data", "missing.txt", "--arch", "gpt"], "--arch must be one of transformer, rnn"),
])
def test_clear_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "held.txt").write_text("some held-out text\n")
    result = text(*args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_corpus_shorter_than_a_window_is_a_clear_error(tmp_path):
    short = write_corpus(tmp_path / "short.txt", "abc")
    result = text("train", "--data", short, "--context", 64)
    assert result.exit_code == 2
    assert "fewer than one window" in result.stderr


def test_loading_the_plugin_does_not_import_torch():
    """`seqkit --help` imports every plugin's hooks and command modules: they must stay light."""
    import os
    import subprocess
    import sys

    code = ("import sys, seqkit_text.plugin, seqkit_text.commands, seqkit_text.data, "
            "seqkit_text.tokenizer; print('torch' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("args, message", [
    (["--lr", "nan"], "--lr must be a positive number"),
    (["--lr", "0"], "--lr must be a positive number"),
    (["--out", "a-file.txt"], "a-file.txt is a file"),
])
def test_bad_training_settings_are_one_error_line(corpus, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file.txt").write_text("keep me")
    result = text("train", "--data", corpus, "--steps", 2, *SMALL, *args)
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert line.startswith(f"Error: {message}") and "\n" not in line, line
    assert "Traceback" not in result.output and (tmp_path / "a-file.txt").read_text() == "keep me"


def test_ctrl_c_before_the_first_evaluation_keeps_the_saved_model(corpus, tmp_path, monkeypatch):
    assert text("train", "--data", corpus, "--steps", 2, "--out", tmp_path / "good", *SMALL).exit_code == 0
    from seqkit.io import user_checkpoint_dir

    saved = user_checkpoint_dir("text") / "default.json"
    before = saved.read_text()

    from seqkit_text.data import Windows

    real, calls = Windows.__getitem__, []

    def ctrl_c(self, i):
        calls.append(i)
        if len(calls) > 20:  # Ctrl-C in the second batch of 16, before any evaluation
            raise KeyboardInterrupt
        return real(self, i)

    monkeypatch.setattr(Windows, "__getitem__", ctrl_c)
    result = text("train", "--data", corpus, "--steps", 50, "--out", tmp_path / "run", *SMALL)
    assert result.exit_code == 0, result.output
    assert "nothing saved to" in result.stderr and "default.json" in result.stderr
    assert saved.read_text() == before  # the earlier model is still the default
    assert (tmp_path / "run" / "last.json").exists()  # and the run can be resumed
