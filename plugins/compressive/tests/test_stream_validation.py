"""Training on streams validates on streams: the loss a run records (and picks best.json by) is the
one `seqkit music eval` prints for that checkpoint."""

import json

import pytest
from typer.testing import CliRunner

from seqkit.testing import cli_app

app = cli_app()


def _piece(path, seed, n=160):
    """A made-up piano piece: seeded notes, some overlapping (about 1,000 performance tokens)."""
    import numpy as np
    import pretty_midi

    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    t = 0.0
    for _ in range(n):
        t += float(rng.choice([0.0, 0.125, 0.25, 0.5]))
        inst.notes.append(pretty_midi.Note(velocity=int(rng.integers(30, 110)), pitch=int(rng.integers(48, 84)),
                                           start=t, end=t + float(rng.choice([0.1, 0.25, 0.6]))))
    pm.instruments.append(inst)
    pm.write(str(path))


@pytest.fixture
def music(tmp_path, monkeypatch):
    if CliRunner().invoke(app, ["music", "--help"]).exit_code != 0:
        pytest.skip("the music commands (midi-transformer plugin) are not installed")
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    folder = tmp_path / "midi"
    folder.mkdir()
    rows = ["midi_filename,split"]  # the folder loader reads info.csv's split column
    for i in range(6):
        _piece(folder / f"p{i}.mid", seed=i, n=120 + 40 * i)
        rows.append(f"p{i}.mid,{'validation' if i < 2 else 'train'}")
    (folder / "info.csv").write_text("\n".join(rows) + "\n")
    return folder


def _train(music, out, *extra):
    args = ["music", "train", "--data", str(music), "--dataset", "folder", "--arch", "compressive",
            "--steps", "4", "--set", "eval_every=2", "--batch-size", "2", "--set", "warmup_steps=0", "--out", str(out),
            "--device", "cpu", "--no-augment", "--json", "--set", "n_layer=1", "--set", "n_embd=32",
            "--set", "n_head=2", "--set", "seg_len=16", "--set", "mem_len=16", "--set", "cmem_len=8",
            "--set", "dropout=0", *extra]
    return CliRunner().invoke(app, args)


def _eval(music, ckpt, *extra):
    r = CliRunner().invoke(app, ["music", "eval", "--model", str(ckpt), "--data", str(music), "--dataset",
                                 "folder", "--device", "cpu", "--json", *extra])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_recorded_validation_loss_is_what_music_eval_prints(music, tmp_path):
    r = _train(music, tmp_path / "s")
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (tmp_path / "s" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [2, 4] and all(row["val_loss"] > 0 for row in rows)
    best = json.loads((tmp_path / "s" / "best.json").read_text())
    assert best["metrics"]["val_loss"] == min(row["val_loss"] for row in rows)
    ev = _eval(music, tmp_path / "s" / "best.json")
    assert ev["streams"] is True and ev["split"] == "validation"
    assert ev["nll"] == pytest.approx(best["metrics"]["val_loss"], abs=1e-4)
    # scored as windows instead, the same checkpoint gets another number (memories matter)
    assert _eval(music, tmp_path / "s" / "best.json", "--windows")["nll"] != ev["nll"]


def test_max_eval_batches_caps_stream_validation(music, tmp_path):
    r = _train(music, tmp_path / "c", "--set", "max_eval_batches=1", "--val-seq-len", "16")
    assert r.exit_code == 0, r.output
    best = json.loads((tmp_path / "c" / "best.json").read_text())
    ev = _eval(music, tmp_path / "c" / "best.json", "--max-windows", "2", "--seq-len", "16")
    assert ev["windows"] == 2
    assert ev["nll"] == pytest.approx(best["metrics"]["val_loss"], abs=1e-4)
