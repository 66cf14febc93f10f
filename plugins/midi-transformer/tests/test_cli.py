"""The commands, in-process, with a tiny model trained here (no shipped weights needed)."""

import json

import pytest
import seqkit_midi_transformer.plugin as plugin
from music_helpers import SHARED, make_midi, scale_notes

from seqkit.testing import run_cli


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, request):
    """Train 4 steps of a tiny model through `seqkit music train`; returns its checkpoint path.
    Module-scoped, so it runs before the function-scoped folder fixture: what it exports lands in
    the session's temporary folders of seqkit.testing.pytest_plugin, never the user's."""
    import csv

    tmp = tmp_path_factory.mktemp("train")

    root = tmp / "maestro"
    root.mkdir()
    rows = []
    for i, split in enumerate(["train", "train", "validation"]):
        make_midi(root / f"p{i}.midi", scale_notes(40, seed=i))
        rows.append({"split": split, "midi_filename": f"p{i}.midi"})
    with open(root / "maestro-v2.0.0.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["split", "midi_filename"])
        w.writeheader()
        w.writerows(rows)
    r = cli("music", "train", "--data", root, "--preset", "tiny", "--seq-len", 32, "--batch-size", 4,
            "--steps", 4, "--set", "eval_every=2", "--out", tmp / "run", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["steps"] == 4 and res["best_val_loss"] < 7
    return {"ckpt": tmp / "run" / "best.json", "data": root}


def test_train_with_set_and_position(tmp_path, maestro_folder):
    r = cli("music", "train", "--data", maestro_folder, "--preset", "tiny", "--set", "position=rope",
            "--set", "n_layer=1", "--set", "dropout=0.1", "--seq-len", 32, "--steps", 2,
            "--batch-size", 2, "--out", tmp_path / "r", "--no-augment", "--json")
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "r" / "best.json").read_text())
    assert meta["model_type"] == "music-transformer"
    assert meta["config"]["position"] == "rope" and meta["config"]["n_layer"] == 1
    assert meta["tokenizer"]["type"] == "performance"


@pytest.mark.parametrize("old", ["--model", "-m", "--name", "--no-resume", "--position", "--warmup", "--schedule",
                                 "--weight-decay", "--eval-every", "--max-eval-batches", "--workers", "--bf16",
                                 "--no-bf16", "--compile"])
def test_train_flags_removed_in_0_6_are_one_error_line(old):
    """music train's own model and training flags became --set settings (#13), --model became
    --arch and --name --save; hidden in 0.5, gone since 0.6 (docs/migration.md): one line, exit 2."""
    r = cli("music", "train", old, "1")
    assert r.exit_code == 2 and r.stderr.startswith(f"Error: No such option: {old}"), r.output
    assert len(r.stderr.strip().splitlines()) == 1


def test_train_any_registered_lm(tmp_path, maestro_folder):
    # core's transformer-lm through the same command: the model is looked up in the registry
    r = cli("music", "train", "--data", maestro_folder, "--arch", "transformer-lm", "--preset", "tiny",
            "--seq-len", 32, "--steps", 2, "--batch-size", 2, "--out", tmp_path / "r", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "r" / "best.json").read_text())["model_type"] == "transformer-lm"


def test_train_init_from_a_checkpoint(tmp_path, tiny_model):
    trained = tiny_model
    from seqkit import load_checkpoint

    r = cli("music", "train", "--data", trained["data"], "--init", trained["ckpt"], "--seq-len", 32,
            "--steps", 2, "--batch-size", 2, "--lr", 1e-9, "--no-augment", "--out", tmp_path / "r", "--json")
    assert r.exit_code == 0, r.output
    before = load_checkpoint(trained["ckpt"]).model.state_dict()
    after = load_checkpoint(tmp_path / "r" / "last.json").model.state_dict()
    assert before.keys() == after.keys()
    assert all((before[k] - after[k]).abs().max() < 1e-4 for k in before)  # started from those weights


def test_train_bad_settings(tmp_path, maestro_folder):
    r = cli("music", "train", "--data", maestro_folder, "--set", "n_layers=3", "--steps", 1)
    assert r.exit_code == 2 and "'n_layers' is not a setting of music-transformer" in r.output
    r = cli("music", "train", "--data", maestro_folder, "--arch", "gru-seq2seq", "--steps", 1)
    assert r.exit_code == 2 and "--arch must be one of music-transformer, transformer-lm" in r.output
    r = cli("music", "train", "--data", tmp_path / "nope", "--steps", 1)
    assert r.exit_code == 2 and "no such data" in r.output


@pytest.mark.parametrize("content", ["{}", "[]", "{not json", '{"split": [1]}', "[1, 2]"])
def test_train_unreadable_maestro_metadata(tmp_path, content):
    root = tmp_path / "m"
    root.mkdir()
    make_midi(root / "p.midi", scale_notes(10))
    (root / "maestro-v2.0.0.json").write_text(content)
    r = cli("music", "train", "--data", root, "--dataset", "maestro", "--steps", 1, "--out", tmp_path / "run")
    assert r.exit_code == 2, r.output
    assert "MAESTRO metadata" in r.stderr and r.stderr.count("Error:") == 1 and "Traceback" not in r.output


@pytest.mark.parametrize("name", ["..", ""])  # a name with a '/' or ending in .json is a path
def test_train_save_name_must_be_plain(maestro_folder, tmp_path, name):
    r = cli("music", "train", "--data", maestro_folder, "--steps", 1, "--out", tmp_path / "run", "--save", name)
    assert r.exit_code == 2 and "invalid checkpoint name" in r.stderr
    assert not (tmp_path / "run").exists()


def test_generate_with_primer(tiny_model, primer, tmp_path):
    out, roll, wav = tmp_path / "g.mid", tmp_path / "g.png", tmp_path / "g.wav"
    r = cli("music", "generate", "--model", tiny_model["ckpt"], "--primer", primer, "--primer-seconds", 3,
            "--tokens", 40, "--out", out, "--piano-roll", roll, "--wav", wav, "--seed", 3, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["primer_tokens"] > 10 and res["results"][0]["saved"]["mid"] == str(out)
    assert out.exists() and roll.read_bytes()[:4] == b"\x89PNG" and wav.read_bytes()[:4] == b"RIFF"
    # seeded: same output twice
    r2 = cli("music", "generate", "--model", tiny_model["ckpt"], "--primer", primer, "--primer-seconds", 3,
             "--tokens", 40, "--out", tmp_path / "h.mid", "--seed", 3)
    assert r2.exit_code == 0 and (tmp_path / "h.mid").read_bytes() == out.read_bytes()


def test_generate_batch_from_nothing(tiny_model, tmp_path):
    r = cli("music", "generate", "--model", tiny_model["ckpt"], "-n", 3, "--seconds", 2,
            "--continuation-only", "--out", tmp_path / "x.mid", "--seed", 0, "--json")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.glob("x_*.mid")) == ["x_1.mid", "x_2.mid", "x_3.mid"]
    res = json.loads(r.stdout)
    assert res["primer_tokens"] == 1 and len(res["results"]) == 3
    import pretty_midi

    for piece in res["results"]:  # --seconds 2: nothing after 2 s (+ one 10 ms step for a note cut there)
        assert piece["seconds"] <= 2.01
        assert pretty_midi.PrettyMIDI(piece["saved"]["mid"]).get_end_time() <= 2.01


def test_generate_bad_input(tiny_model, tmp_path):
    ck = tiny_model["ckpt"]
    r = cli("music", "generate", "--model", ck, "--primer", tmp_path / "missing.mid")
    assert r.exit_code == 2 and "--primer" in r.output and "does not exist" in r.output
    (tmp_path / "text.mid").write_text("not midi at all")
    r = cli("music", "generate", "--model", ck, "--primer", tmp_path / "text.mid")
    assert r.exit_code == 2 and "not a readable MIDI" in r.output and "Traceback" not in r.output
    empty = make_midi(tmp_path / "empty.mid", [])
    r = cli("music", "generate", "--model", ck, "--primer", empty)
    assert r.exit_code == 2 and "no notes" in r.output
    r = cli("music", "generate", "--model", ck, "--tokens", 4, "--out", tmp_path / "new" / "dir" / "x.mid")
    assert r.exit_code == 0 and (tmp_path / "new" / "dir" / "x.mid").exists()  # folders are made, as render does
    r = cli("music", "generate", "--model", "no-such-model")
    assert r.exit_code == 2


def test_generate_missing_soundfont_writes_nothing_and_wav_keeps_midi_seconds(tiny_model, primer, tmp_path):
    out = tmp_path / "s.mid"
    r = cli("music", "generate", "--model", tiny_model["ckpt"], "--primer", primer, "--tokens", 5,
            "--out", out, "--wav", tmp_path / "s.wav", "--soundfont", tmp_path / "none.sf2")
    assert r.exit_code == 2 and "--soundfont" in r.stderr and "does not exist" in r.stderr
    assert "Traceback" not in r.output
    assert not list(tmp_path.glob("s.*"))
    args = ["music", "generate", "--model", tiny_model["ckpt"], "--primer", primer, "--primer-seconds", 3,
            "--tokens", 20, "--seed", 1, "--json"]
    plain = json.loads(cli(*args, "--out", tmp_path / "a.mid").stdout)["results"][0]
    with_wav = json.loads(cli(*args, "--out", tmp_path / "b.mid", "--wav", tmp_path / "b.wav").stdout)["results"][0]
    assert with_wav["seconds"] == plain["seconds"] and with_wav["wav_seconds"] > plain["seconds"]


def test_checkpoint_whose_tokenizer_does_not_fit_the_model(tiny_model, tmp_path):
    from seqkit import load_checkpoint
    from seqkit.io import save_checkpoint

    ck = load_checkpoint(tiny_model["ckpt"], device="cpu")
    model_type = ck.meta["model_type"]
    config = type(ck.config)(**{**ck.config.__dict__, "vocab_size": ck.tokenizer.vocab_size + 5})
    model = type(ck.model)(config)
    save_checkpoint(tmp_path / "bad.json", model, model_type=model_type, config=config, tokenizer=ck.tokenizer,
                    task="music")
    r = cli("music", "generate", "--model", tmp_path / "bad.json", "--tokens", 2, "--out", tmp_path / "x.mid")
    assert r.exit_code == 2, r.output
    assert "tokens but the model was built for" in r.stderr and r.stderr.count("Error:") == 1
    assert not (tmp_path / "x.mid").exists()


@pytest.mark.parametrize("args, message", [(["--top-p", "0"], "--top-p must be above 0"),
                                           (["-t", "inf"], "--temperature must be a finite number")])
def test_generate_sampling_settings_that_leave_nothing_to_sample(tiny_model, tmp_path, args, message):
    r = cli("music", "generate", "--model", tiny_model["ckpt"], "--tokens", 3, "--out", tmp_path / "x.mid", *args)
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output
    assert not (tmp_path / "x.mid").exists()


def test_generate_drum_primer_and_long_primer(tiny_model, tmp_path):
    drums = make_midi(tmp_path / "d.mid", [(i * 0.1, i * 0.1 + 0.05, 36 + i % 3, 100) for i in range(30)], drums=True)
    r = cli("music", "generate", "--model", tiny_model["ckpt"], "--primer", drums, "--tokens", 5,
            "--out", tmp_path / "o.mid", "--seed", 1)
    assert r.exit_code == 0, r.output
    assert "only drum notes" in r.stderr
    long = make_midi(tmp_path / "l.mid", scale_notes(200))  # tiny model context is 64 tokens
    r = cli("music", "generate", "--model", tiny_model["ckpt"], "--primer", long, "--tokens", 5,
            "--out", tmp_path / "o2.mid", "--seed", 1)
    assert r.exit_code == 0, r.output
    assert "is longer than the model's context" in r.stderr


def test_corrupted_fixtures_fail_cleanly(tiny_model, tmp_path):
    folder = SHARED / "midi-fixtures" / "corrupted"
    if not folder.is_dir():
        pytest.skip("../shared/data/midi-fixtures/corrupted not present")
    for f in folder.iterdir():
        r = cli("music", "generate", "--model", tiny_model["ckpt"], "--primer", f, "--tokens", 3,
                "--out", tmp_path / "c.mid", "--seed", 0)
        assert r.exit_code in (0, 2), r.output
        assert "Traceback" not in r.output
        if r.exit_code == 2:
            assert r.output.count("\n") <= 2 and "Error:" in r.output


def test_eval(tiny_model):
    r = cli("music", "eval", "--model", tiny_model["ckpt"], "--data", tiny_model["data"], "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["split"] == "validation" and res["tokens"] > 0 and 0 < res["nll"] < 7
    assert 0 <= res["accuracy"] <= 1
    assert res["music_seconds"] > 0 and res["nll_per_second"] > res["nll"]  # NLL per second of music too
    text = cli("music", "eval", "--model", tiny_model["ckpt"], "--data", tiny_model["data"], "--split", "validation")
    assert text.exit_code == 0, text.output
    assert f"validation: NLL {res['nll']:.4f} nats/token" in text.stdout and "nats per second of music" in text.stdout
    r = cli("music", "eval", "--model", tiny_model["ckpt"], "--data", tiny_model["data"], "--split", "dev")
    assert r.exit_code == 2 and "--split must be one of validation, test, train" in r.stderr


def test_inspect_render_piano_roll(primer, tmp_path):
    r = cli("music", "inspect", primer, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["notes"] == 24 and res["tokens"] > 48 and res["instruments"][0]["instrument"] == "Acoustic Grand Piano"
    r = cli("music", "render", primer, "--wav", tmp_path / "a.wav")
    assert r.exit_code == 0, r.output
    import wave

    with wave.open(str(tmp_path / "a.wav")) as w:
        assert w.getframerate() == 44100 and w.getnframes() > 44100 * 5
    r = cli("music", "piano-roll", primer, "--out", tmp_path / "r.png")
    assert r.exit_code == 0 and (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    r = cli("music", "piano-roll", primer, "--out", primer / "r.png")  # parent is a file
    assert r.exit_code == 2 and "cannot write" in r.output and "Traceback" not in r.output
    r = cli("music", "render", primer, "--wav", tmp_path / "b.wav", "--soundfont", tmp_path / "none.sf2")
    assert r.exit_code == 2 and "SoundFont" in r.output


def test_tokenize_archive_then_train_from_it(maestro_folder, tmp_path):
    r = cli("music", "tokenize", "--data", maestro_folder, "--out", tmp_path / "t.npz", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["splits"]["train"]["pieces"] == 3
    r = cli("music", "train", "--data", tmp_path / "t.npz", "--preset", "tiny", "--seq-len", 32,
            "--steps", 1, "--batch-size", 2, "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    cut = tmp_path / "cut.npz"
    cut.write_bytes((tmp_path / "t.npz").read_bytes()[:1000])
    r = cli("music", "train", "--data", cut, "--preset", "tiny", "--steps", 1, "--out", tmp_path / "r2")
    assert r.exit_code == 2 and "not a music token archive" in r.stderr and "Traceback" not in r.output
    plain = tmp_path / "plain"
    plain.mkdir()
    r = cli("music", "train", "--data", plain, "--dataset", "maestro", "--steps", 1)
    assert r.exit_code == 2 and "not a MAESTRO folder" in r.output


def test_unknown_preset_fails_before_any_data_is_read(tmp_path):
    r = cli("music", "train", "--data", tmp_path / "not-there", "--preset", "huge", "--steps", 1)
    assert r.exit_code == 2 and "--preset must be one of paper, small, tiny, not 'huge'" in r.stderr and "Traceback" not in r.output


def test_tokenize_to_an_unwritable_place_fails_before_tokenizing(tmp_path):
    (tmp_path / "a-file").write_text("")
    r = cli("music", "tokenize", "--data", tmp_path / "not-there", "--out", tmp_path / "a-file" / "t.npz")
    assert r.exit_code == 2 and "is a file, not a folder" in r.stderr and "Traceback" not in r.output


# -- issue 17: the README's primer, the cut notice, progress, --top-p's range -------------------

def test_the_example_primer_is_made_by_the_plugin_and_continued(tiny_model, tmp_path):
    import pretty_midi

    r = cli("music", "primer", tmp_path / "primer.mid")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"wrote {tmp_path / 'primer.mid'}: 64 notes, 9.6 s")
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "primer.mid"))
    notes = sorted(pm.instruments[0].notes, key=lambda n: n.start)
    assert len(notes) == 64 and [n.pitch for n in notes[:8]] == [60, 64, 67, 72, 76, 67, 72, 76]  # BWV 846
    r = cli("music", "generate", "--model", tiny_model["ckpt"], "--primer", tmp_path / "primer.mid",
            "--tokens", 8, "--out", tmp_path / "continued.mid", "--seed", 0)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "continued.mid").exists()


def test_a_missing_primer_says_how_to_make_one(tiny_model, tmp_path):
    r = cli("music", "generate", "--model", tiny_model["ckpt"], "--primer", tmp_path / "primer.mid",
            "--out", tmp_path / "x.mid")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert f"seqkit music primer {tmp_path / 'primer.mid'}" in r.stderr


def test_a_primer_longer_than_the_context_is_cut_with_one_line_saying_how(tiny_model, tmp_path):
    long = make_midi(tmp_path / "l.mid", scale_notes(200))  # the tiny model's context is 64 tokens
    r = cli("music", "generate", "--model", tiny_model["ckpt"], "--primer", long, "--tokens", 3,
            "--out", tmp_path / "o.mid", "--seed", 1)
    assert r.exit_code == 0, r.output
    notice = [line for line in r.stderr.splitlines() if "the primer" in line]
    assert len(notice) == 1
    assert "is longer than the model's context: continuing its last 64 tokens, from" in notice[0]
    assert "--primer-seconds" in notice[0] and "--primer-tokens" in notice[0]


def test_generate_reports_progress_per_token(tiny_model, tmp_path):
    import torch
    from seqkit_midi_transformer.loading import load_music_model

    net = load_music_model(str(tiny_model["ckpt"]), "cpu").model
    steps = []
    from seqkit import generate

    generate(net, torch.zeros(1, 1, dtype=torch.long), 7, generator=torch.Generator().manual_seed(0),
             on_step=steps.append)
    assert steps == [1] * 7
    r = run_cli(["music", "generate", "--model", str(tiny_model["ckpt"]), "--tokens", "5", "--out",
                 str(tmp_path / "p.mid"), "--seed", "0"], plugins=[plugin], env={"SEQKIT_PROGRESS": "1"})
    assert r.exit_code == 0 and "generating tokens" in r.stderr
    quiet = cli("music", "generate", "--model", tiny_model["ckpt"], "--tokens", 5, "--out", tmp_path / "q.mid")
    assert quiet.exit_code == 0 and "generating tokens" not in quiet.stderr  # not a terminal


@pytest.mark.parametrize("value", ["0", "1.5", "-0.1", "nan"])
def test_top_p_help_says_what_is_accepted(tiny_model, tmp_path, value):
    r = cli("music", "generate", "--help")
    assert "[0<x<=1]" in " ".join(r.stdout.split()) and "0.0<=x<=1.0" not in r.stdout
    r = cli("music", "generate", "--model", tiny_model["ckpt"], "--tokens", 2, "--top-p", value,
            "--out", tmp_path / "t.mid")
    assert r.exit_code == 2 and r.stderr.startswith("Error: --top-p must be") and r.stderr.count("\n") == 1
