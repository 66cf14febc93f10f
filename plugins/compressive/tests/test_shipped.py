"""The shipped default `compressive` model: found by the music commands through register_checkpoints."""

import json

import pytest
from typer.testing import CliRunner

from seqkit import find_checkpoint, list_checkpoints, read_meta
from seqkit.host import checkpoint_folders
from seqkit.testing import cli_app

app = cli_app()


@pytest.fixture
def music(tmp_path, monkeypatch):
    if CliRunner().invoke(app, ["music", "--help"]).exit_code != 0:
        pytest.skip("the music commands (midi-transformer plugin) are not installed")
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))  # no user checkpoint shadows it
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))


def _primer(path):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    for i, pitch in enumerate([60, 64, 67, 72, 67, 64, 60, 55] * 3):  # arpeggios, 6 s
        piano.notes.append(pretty_midi.Note(velocity=70, pitch=pitch, start=i * 0.25, end=i * 0.25 + 0.4))
    pm.instruments.append(piano)
    pm.write(str(path))
    return path


def test_the_shipped_model_is_registered_for_the_music_task(music):
    folders = checkpoint_folders("music")
    assert [f.plugin for f in folders] == ["compressive"]
    path = find_checkpoint("compressive", "music")
    assert path.parent == folders[0].folder
    meta = read_meta(path)
    assert meta["model_type"] == "compressive" and meta["dtype"] == "float16"
    assert "CC BY-NC-SA" in meta["data"]["licence"]
    assert meta["metrics"]["validation_nll"] < 3.0 and meta["metrics"]["test_nll"] < 3.0
    weights = path.parent / meta["weights"]
    assert weights.stat().st_size < 10_000_000  # small: it stays in git history
    row = next(r for r in list_checkpoints("music") if r["name"] == "compressive")
    assert row["origin"] == "shipped" and "error" not in row


def test_generate_with_the_shipped_model_continues_a_primer(music, tmp_path):
    out = tmp_path / "more.mid"
    r = CliRunner().invoke(app, ["music", "generate", "--model", "compressive", "--primer",
                                 str(_primer(tmp_path / "p.mid")), "--tokens", "96", "--out", str(out),
                                 "--seed", "0", "--device", "cpu", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    piece = res["results"][0]
    assert res["generated_tokens"] == piece["tokens"] == 96 and res["primer_tokens"] > 48
    assert piece["notes"] > 24  # the primer's 24 notes and more
    import pretty_midi

    assert sum(len(i.notes) for i in pretty_midi.PrettyMIDI(str(out)).instruments) == piece["notes"]
