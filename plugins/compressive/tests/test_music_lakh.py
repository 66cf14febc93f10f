"""`seqkit music train|generate|eval --dataset lakh-clean-midi --tokenizer notes-chords`.

The music commands belong to the midi-transformer plugin; they find the Lakh loader and the
notes-chords tokenizer of this plugin through the registry. The Lakh folder is generated here
(pretty_midi), so these tests need no shared data.
"""

import json

import pytest
from typer.testing import CliRunner

from seqkit.testing import cli_app

app = cli_app()

GUITAR, PIANO, BASS = 25, 0, 33
CHORDS = [(52, 56, 59), (57, 61, 64), (55, 59, 62), (50, 54, 57), (52, 55, 59), (48, 52, 55)]


def write_song(path, programs, seed, bars=24):
    """Chords on the first program, a melody on the others, drums too."""
    import random

    import pretty_midi

    rng = random.Random(seed)
    pm = pretty_midi.PrettyMIDI()
    for k, program in enumerate(programs):
        inst = pretty_midi.Instrument(program=program)
        for i in range(bars):
            t = i * 0.5
            if k == 0:
                for p in CHORDS[(i + seed) % len(CHORDS)]:
                    inst.notes.append(pretty_midi.Note(80, p, t, t + 0.45))
            else:
                inst.notes.append(pretty_midi.Note(70, 60 + rng.choice([0, 2, 4, 7, 9]), t + 0.25, t + 0.5))
        pm.instruments.append(inst)
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes = [pretty_midi.Note(100, 36, i * 0.5, i * 0.5 + 0.1) for i in range(bars)]
    pm.instruments.append(drums)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


@pytest.fixture(scope="module")
def lakh(tmp_path_factory):
    """clean_midi/<Artist>/<Title>.mid: 9 songs with an acoustic guitar (program 25) in two
    genres, 3 piano songs without one, one unreadable file, and a genre CSV."""
    if CliRunner().invoke(app, ["music", "--help"]).exit_code != 0:
        pytest.skip("the music commands (midi-transformer plugin) are not installed")
    base = tmp_path_factory.mktemp("lakh")
    root = base / "clean_midi"
    artists = {"Folk Band": "folk", "Campfire Trio": "folk", "Rock Band": "rock", "Piano Man": "rock"}
    seed = 0
    for artist in ("Folk Band", "Campfire Trio", "Rock Band"):
        for title in ("One", "Two", "Three"):
            write_song(root / artist / f"{title}.mid", [GUITAR, BASS], seed)
            seed += 1
    for title in ("Sonata", "Ballad", "Waltz"):
        write_song(root / "Piano Man" / f"{title}.mid", [PIANO], seed)
        seed += 1
    (root / "Rock Band" / "Broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    genres = base / "genres.csv"
    genres.write_text("artist,genre\n" + "".join(f"{a},{g}\n" for a, g in artists.items()))
    return {"root": root, "genres": genres, "primer": root / "Folk Band" / "One.mid"}


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SEQKIT_WORKERS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


TINY_COMPRESSIVE = ["--arch", "compressive", "--seq-len", "32", "--set", "n_layer=1", "--set", "n_embd=32",
                    "--set", "n_head=2", "--set", "seg_len=16", "--set", "mem_len=16", "--set", "cmem_len=8"]
COMMON = ["--steps", "3", "--batch-size", "2", "--set", "warmup_steps=0", "--device", "cpu", "--json"]


def test_train_generate_eval_compressive_on_lakh_with_notes_chords(lakh, env, monkeypatch):
    run = env / "run"
    r = cli("music", "train", "--data", lakh["root"].parent, "--dataset", "lakh-clean-midi",
            "--dataset-option", "program=25", "--tokenizer", "notes-chords",
            "--tokenizer-option", "program=25", *TINY_COMPRESSIVE, *COMMON, "--out", run, "--save", "lakh-tiny")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["steps"] == 3 and res["saved"].endswith("lakh-tiny.json")
    assert "9 MIDI files selected" in r.stderr and "skipped 1 unreadable" in r.stderr
    assert "no augmentation" in r.stderr
    meta = json.loads((run / "best.json").read_text())
    tok = meta["tokenizer"]
    assert tok["type"] == "notes-chords" and tok["program"] == 25
    # the vocabulary is the guitar's chords (learned from the train split), not the bass notes
    assert {"E3.G#3.B3", "A3.C#4.E4"} <= set(tok["symbols"]) and not any("." not in s for s in tok["symbols"])
    assert meta["data"]["dataset"] == "lakh-clean-midi" and meta["data"]["options"] == {"program": 25}

    out = env / "g.mid"
    r = cli("music", "generate", "--model", "lakh-tiny", "--primer", lakh["primer"], "--primer-seconds", "4",
            "--tokens", "12", "--seed", "1", "--out", out, "--piano-roll", env / "g.png", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["primer_tokens"] == 1 + 8  # <bos> + one chord per 0.5 s in the first 4 s
    piece = res["results"][0]
    assert 1 <= piece["tokens"] <= 12  # up to <eos>
    assert 8 * 0.25 <= piece["seconds"] <= (8 + piece["tokens"]) * 0.25  # the primer, one 0.25 s step a token
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(out))
    assert pm.instruments[0].program == 25 and len(pm.instruments[0].notes) >= 3 * 8
    assert (env / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert res["backend"] == "onnx"  # the export wrote its graphs
    # the exported model is the run's best state: the same piece on torch for the same seed
    monkeypatch.setenv("SEQKIT_BACKEND", "torch")
    exported, again = env / "t.mid", env / "h.mid"
    for model, target in (("lakh-tiny", exported), (run / "best.json", again)):
        r = cli("music", "generate", "--model", model, "--primer", lakh["primer"], "--primer-seconds", "4",
                "--tokens", "12", "--seed", "1", "--out", target, "--device", "cpu")
        assert r.exit_code == 0, r.output
    assert again.read_bytes() == exported.read_bytes()
    monkeypatch.delenv("SEQKIT_BACKEND")
    r = cli("music", "generate", "--model", "lakh-tiny", "--seconds", "3", "--continuation-only",
            "--seed", "2", "--out", env / "s.mid", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    assert 0 < json.loads(r.stdout)["results"][0]["seconds"] <= 3.0
    # a primer without the guitar the tokenizer reads, and an unreadable one: one line each
    r = cli("music", "generate", "--model", "lakh-tiny", "--primer", lakh["root"] / "Piano Man" / "Waltz.mid",
            "--out", env / "p.mid", "--device", "cpu")
    assert r.exit_code == 2 and "has no notes to continue (as the notes-chords tokenizer reads it)" in r.output
    r = cli("music", "generate", "--model", "lakh-tiny", "--primer", lakh["root"] / "Rock Band" / "Broken.mid",
            "--out", env / "p.mid", "--device", "cpu")
    assert r.exit_code == 2 and "is not a readable MIDI file" in r.output and r.output.count("\n") == 1
    assert not (env / "p.mid").exists()

    # eval: the same data -> the recorded dataset, options and split
    r = cli("music", "eval", "--model", run / "best.json", "--data", lakh["root"].parent, "--split", "test",
            "--dataset", "lakh-clean-midi", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["pieces"] == 1 and res["tokens"] > 0 and res["nll"] > 0 and 0 <= res["unknown_fraction"] < 1
    r = cli("music", "eval", "--model", "lakh-tiny", "--device", "cpu", "--json")  # --data from the checkpoint
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["pieces"] == 1


def test_tiny_transformer_on_a_genre_sample(lakh, env):
    run = env / "run"
    r = cli("music", "train", "--data", lakh["root"], "--dataset", "lakh-clean-midi",
            "--dataset-option", "program=25", "--dataset-option", f"genres={lakh['genres']}",
            "--dataset-option", "per-genre=3", "--dataset-option", "seed=1", "--tokenizer", "notes-chords",
            "--arch", "music-transformer", "--preset", "tiny", "--seq-len", "16", *COMMON, "--out", run)
    assert r.exit_code == 0, r.output
    assert "6 MIDI files selected" in r.stderr  # 3 folk + 3 rock (the piano songs have no guitar)
    meta = json.loads((run / "best.json").read_text())
    assert meta["model_type"] == "music-transformer" and meta["tokenizer"]["type"] == "notes-chords"
    assert meta["data"]["options"] == {"program": 25, "genres": str(lakh["genres"]), "per_genre": 3, "seed": 1}
    assert any("." not in s for s in meta["tokenizer"]["symbols"])  # all instruments: bass notes too
    r = cli("music", "generate", "--model", run / "best.json", "--primer", lakh["primer"], "--tokens", "8",
            "--seed", "0", "--out", env / "t.mid", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    r = cli("music", "eval", "--model", run / "best.json", "--data", lakh["root"], "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["tokens"] > 0
    # resume: the run's vocabulary is kept (not learned again)
    args = ["music", "train", "--data", lakh["root"], "--dataset", "lakh-clean-midi", "--dataset-option", "program=25",
            "--tokenizer", "notes-chords", "--arch", "music-transformer", "--preset", "tiny", "--seq-len", "16",
            *COMMON, "--out", run, "--resume"]
    args[args.index("--steps") + 1] = "4"
    r = cli(*args)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["steps"] == 4
    assert json.loads((run / "last.json").read_text())["tokenizer"] == meta["tokenizer"]

    # a tokenizer that does not match the checkpoint: one clear line
    r = cli("music", "train", "--data", lakh["root"], "--dataset", "lakh-clean-midi", "--init", run / "best.json",
            "--tokenizer", "performance", "--steps", "1", "--out", env / "r2")
    assert r.exit_code == 2 and "incompatible with the checkpoint" in r.output and r.output.count("\n") == 1


def test_tokenize_lakh_to_an_archive_and_train_from_it(lakh, env):
    r = cli("music", "tokenize", "--data", lakh["root"], "--dataset", "lakh-clean-midi", "--tokenizer",
            "notes-chords", "--dataset-option", "program=25", "--out", env / "t.npz", "--json")
    assert r.exit_code == 0, r.output
    assert sum(s["pieces"] for s in json.loads(r.stdout)["splits"].values()) == 9
    r = cli("music", "train", "--data", env / "t.npz", *TINY_COMPRESSIVE, *COMMON, "--out", env / "r")
    assert r.exit_code == 0, r.output
    assert json.loads((env / "r" / "best.json").read_text())["tokenizer"]["type"] == "notes-chords"
    r = cli("music", "train", "--data", env / "t.npz", "--tokenizer", "performance", *COMMON, "--out", env / "r2")
    assert r.exit_code == 2 and "tokenized with the notes-chords tokenizer, not performance" in r.output


@pytest.mark.parametrize("args, message", [
    (["--dataset", "lakh-clean-mid"], "unknown music dataset 'lakh-clean-mid'; did you mean lakh-clean-midi?"),
    (["--dataset", "tp-lines"], "is for the tp-task task, not music"),
    (["--tokenizer", "notes-chord"], "unknown tokenizer 'notes-chord'; did you mean notes-chords?"),
    (["--tokenizer", "char"], "tokenizer 'char' is not a music tokenizer"),
    (["--dataset", "lakh-clean-midi", "--dataset-option", "colour=red"],
     "--dataset-option colour: dataset 'lakh-clean-midi' has no such option (known: genre, genres, per_genre, program, seed)"),
    (["--dataset", "lakh-clean-midi", "--dataset-option", "program=guitar"], "--dataset-option program=guitar: expected int"),
    (["--dataset", "lakh-clean-midi", "--dataset-option", "program"], "--dataset-option takes key=value"),
    (["--dataset", "lakh-clean-midi", "--dataset-option", "program=99"],
     "dataset 'lakh-clean-midi' selected no MIDI files in"),
    (["--dataset", "lakh-clean-midi", "--tokenizer", "notes-chords", "--tokenizer-option", "velocity=3"],
     "--tokenizer-option velocity: tokenizer 'notes-chords' has no such option"),
    (["--dataset", "lakh-clean-midi", "--tokenizer", "notes-chords", "--drums"],
     "--drums: tokenizer 'notes-chords' has no drums setting"),
])
def test_bad_choices_are_one_line_errors(lakh, env, args, message):
    from seqkit import DatasetType, hookimpl
    from seqkit.testing import registered

    class OtherTask:  # a dataset registered for another task
        __name__ = "other_task_plugin"

        @hookimpl
        def register_datasets(self, register):
            register(DatasetType("tp-lines", lambda path: ["a"], "lines", task="tp-task"))

    with registered(OtherTask()):
        r = cli("music", "train", "--data", lakh["root"], *args, "--steps", "1", "--out", env / "r")
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error: ") and r.output.count("\n") == 1, r.output
    assert message in r.output


def test_notes_chords_contract_methods():
    from seqkit_compressive.tokenizer import NotesChordsTokenizer

    tok = NotesChordsTokenizer.build([[(60,), (60, 64, 67)]], step_seconds=0.5, program=25)
    ids = tok.encode([(60,), (60, 64, 67), (61,)], add_bos=True)
    assert list(tok.token_seconds(ids)) == [0.0, 0.5, 1.0, 1.0]  # <bos> and <unk> take no time
    notes = tok.decode_notes(ids)
    assert notes.tolist() == [[0.0, 0.5, 60, 80], [0.5, 1.0, 60, 80], [0.5, 1.0, 64, 80], [0.5, 1.0, 67, 80]]
    pm = tok.decode_midi(ids)
    assert pm.instruments[0].program == 25 and len(pm.instruments[0].notes) == 4
    import symusic

    assert tok.cache_key() == f"notes-chords-v1-symusic{symusic.__version__}-p25-t0.05"  # the parser too
    assert tok.tokens_per_second == 2.0
