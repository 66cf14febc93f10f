"""`seqkit music train|eval|generate --model compressive` (the midi-transformer plugin's commands)."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from seqkit.host import model_types
from seqkit.testing import cli_app

app = cli_app()

FILES = ["one_track/Maestro_1.mid", "one_track/POP909_008.mid", "one_track/POP909_191.mid",
         "one_track/6354774_Macabre Waltz.mid"]


@pytest.fixture
def music(midi_fixtures, tmp_path, monkeypatch):
    r = CliRunner().invoke(app, ["music", "--help"])
    if r.exit_code != 0:
        pytest.skip("the music commands (midi-transformer plugin) are not installed")
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))  # train saves its model into the user store
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    folder = tmp_path / "midi"
    folder.mkdir()
    for f in FILES:
        shutil.copyfile(midi_fixtures / f, folder / f.split("/")[1])
    return folder


def test_music_commands_accept_model_compressive(music, tmp_path):
    assert "compressive" in model_types()
    run = tmp_path / "run"
    sets = ["n_layer=1", "n_embd=32", "n_head=2", "seg_len=16", "mem_len=16", "cmem_len=8", "memory_layers=1"]
    args = ["music", "train", "--data", str(music), "--arch", "compressive", "--seq-len", "64", "--steps", "2",
            "--batch-size", "2", "--set", "warmup_steps=0", "--out", str(run), "--device", "cpu", "--no-augment", "--json"]
    for s in sets:
        args += ["--set", s]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    meta = json.loads((run / "best.json").read_text())
    assert meta["model_type"] == "compressive" and meta["config"]["mem_len"] == 16
    assert meta["config"]["memory_layers"] == [1]

    r = CliRunner().invoke(app, ["music", "eval", "--model", str(run / "best.json"), "--data", str(music),
                                 "--device", "cpu", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["nll"] > 0

    out = tmp_path / "g.mid"
    r = CliRunner().invoke(app, ["music", "generate", "--model", str(run / "best.json"), "--tokens", "40",
                                 "--seed", "1", "--out", str(out), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert out.exists()


def test_inconsistent_settings_fail_cleanly(music, tmp_path):
    r = CliRunner().invoke(app, ["music", "train", "--data", str(music), "--arch", "compressive", "--set",
                                 "cmem_len=1", "--steps", "1", "--out", str(tmp_path / "r"), "--device", "cpu"])
    assert r.exit_code == 2
    assert "Error: cmem_len (1) is shorter than mem_len / cmem_ratio" in r.output


def _train(music, out, *extra):
    args = ["music", "train", "--data", str(music), "--arch", "compressive", "--steps", "3", "--batch-size", "2",
            "--set", "warmup_steps=0", "--out", str(out), "--device", "cpu", "--no-augment", "--json",
            "--set", "n_layer=1", "--set", "n_embd=32", "--set", "n_head=2", "--set", "seg_len=16",
            "--set", "mem_len=16", "--set", "cmem_len=8", *extra]
    return CliRunner().invoke(app, args)


def test_compressive_trains_on_streams_by_default(music, tmp_path):
    r = _train(music, tmp_path / "s")
    assert r.exit_code == 0, r.output
    assert "2 streams read 16 tokens a step (taking turns among 32 groups), memories carried" in r.stderr
    extra = json.loads((tmp_path / "s" / "best.json").read_text())["extra"]
    assert extra["streams"] is True and extra["seq_len"] == 16 and extra["eval_seq_len"] == 64
    assert extra["memory_reset"] == 0.0 and extra["stream_groups"] == 32
    r = CliRunner().invoke(app, ["music", "eval", "--model", str(tmp_path / "s" / "best.json"), "--data",
                                 str(music), "--device", "cpu", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["seq_len"] == 64  # scored on the validation windows it was trained for

    r = _train(music, tmp_path / "g", "--stream-groups", "2", "--memory-reset", "0.5")
    assert r.exit_code == 0, r.output
    assert "(taking turns among 2 groups)" in r.stderr
    extra = json.loads((tmp_path / "g" / "best.json").read_text())["extra"]
    assert extra["stream_groups"] == 2 and extra["memory_reset"] == 0.5
    trainer = json.loads((tmp_path / "g" / "last.json").read_text())["trainer"]  # the Trainer resets them
    assert trainer["train_config"]["memory_reset"] == 0.5

    r = _train(music, tmp_path / "w", "--windows", "--seq-len", "32")
    assert r.exit_code == 0, r.output
    extra = json.loads((tmp_path / "w" / "best.json").read_text())["extra"]
    assert extra["streams"] is False and extra["seq_len"] == extra["eval_seq_len"] == 32


def test_stream_settings_are_checked(music, tmp_path):
    r = _train(music, tmp_path / "a", "--seq-len", "24")
    assert r.exit_code == 2 and "--seq-len 24 must be a multiple of the model's seg_len 16" in r.output
    r = CliRunner().invoke(app, ["music", "train", "--data", str(music), "--arch", "music-transformer",
                                 "--streams", "--steps", "1", "--out", str(tmp_path / "b"), "--device", "cpu"])
    assert r.exit_code == 2 and "--streams needs a model that carries memories" in r.output


def test_eval_on_streams_scores_each_piece_as_one_pass(music, tmp_path):
    """--streams reads every validation piece from its start, window after window with memories
    carried: the same NLL as one forward pass over each whole piece."""
    import torch
    import torch.nn.functional as F
    from seqkit_midi_transformer.sources import open_corpus

    from seqkit import load_checkpoint

    r = _train(music, tmp_path / "s")
    assert r.exit_code == 0, r.output
    best = tmp_path / "s" / "best.json"
    scores = {}
    for flag in ("--streams", "--windows"):
        r = CliRunner().invoke(app, ["music", "eval", "--model", str(best), "--data", str(music), "--device", "cpu",
                                     "--split", "train", "--seq-len", "32", "--batch-size", "2", "--json", flag])
        assert r.exit_code == 0, r.output
        scores[flag] = json.loads(r.stdout)
    ckpt = load_checkpoint(best, device="cpu")
    corpus, _, _ = open_corpus(music, "auto", ckpt.tokenizer, {}, splits=("train",))
    total = count = 0
    with torch.no_grad():
        for piece in corpus.arrays("train"):
            ids = torch.as_tensor(piece.astype("int64"))[None]
            logits, _ = ckpt.model.eval()(ids[:, :-1])
            total += F.cross_entropy(logits[0], ids[0, 1:], reduction="sum").item()
            count += ids.size(1) - 1
    s = scores["--streams"]
    assert s["streams"] is True and s["tokens"] == count == scores["--windows"]["tokens"]
    assert s["nll"] == pytest.approx(total / count, abs=2e-4)
    assert s["windows"] == sum(-(-(len(p) - 1) // 32) for p in corpus.arrays("train"))
    assert scores["--windows"]["streams"] is False
