"""The music writers (issue 29, items 12 and 19): `primer`, `piano-roll` and `render --wav` write
into a FIFO or `/dev/null`, take `-` for stdout, refuse a symlink with one Error line (its target
kept), and check --out before reading or drawing anything."""

import os
import threading
import time

import pytest
import seqkit_midi_transformer.plugin as plugin
from music_helpers import make_midi, scale_notes

from seqkit.testing import run_cli


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin])


def _fails(r, text):
    assert r.exit_code == 2, r.output
    assert r.stderr.count("Error:") == 1 and text in r.stderr, r.stderr
    assert "Traceback" not in r.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_primer_writes_into_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    r = cli("music", "primer", fifo)
    reader.join(30)
    assert r.exit_code == 0, r.output
    assert got and got[0].startswith(b"MThd")
    assert os.path.exists(fifo) and not fifo.is_file()


def test_primer_to_stdout_dev_null_and_a_symlink(tmp_path):
    r = cli("music", "primer", "-")
    assert r.exit_code == 0, r.output
    assert r.stdout_bytes.startswith(b"MThd") and "wrote the primer to stdout" in r.stderr
    assert cli("music", "primer", "/dev/null").exit_code == 0
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    (tmp_path / "mine.mid").write_bytes(b"mine")
    (tmp_path / "link.mid").symlink_to(tmp_path / "mine.mid")
    _fails(cli("music", "primer", tmp_path / "link.mid"), "symbolic link")
    assert (tmp_path / "mine.mid").read_bytes() == b"mine" and (tmp_path / "link.mid").is_symlink()


def test_piano_roll_and_render_check_out_before_any_work(tmp_path, monkeypatch):
    midi = make_midi(tmp_path / "p.mid", scale_notes(40))
    import seqkit_midi_transformer.render as render

    def boom(*a, **k):
        raise AssertionError("drew or rendered before checking the output")

    monkeypatch.setattr(render, "write_piano_roll", boom)
    monkeypatch.setattr(render, "write_wav", boom)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    t0 = time.perf_counter()
    _fails(cli("music", "piano-roll", midi, "--out", blocker / "roll.png"), "cannot write --out")
    _fails(cli("music", "render", midi, "--wav", blocker / "x.wav"), "cannot write --wav")
    assert time.perf_counter() - t0 < 10
    (tmp_path / "mine.png").write_bytes(b"mine")
    (tmp_path / "link.png").symlink_to(tmp_path / "mine.png")
    _fails(cli("music", "piano-roll", midi, "--out", tmp_path / "link.png"), "symbolic link")
    assert (tmp_path / "mine.png").read_bytes() == b"mine"


def test_piano_roll_to_stdout(tmp_path):
    midi = make_midi(tmp_path / "p.mid", scale_notes(20))
    r = cli("music", "piano-roll", midi, "--out", "-", "--seconds", 2)
    assert r.exit_code == 0, r.output
    assert r.stdout_bytes.startswith(b"\x89PNG") and not (tmp_path / "-").exists()


def test_hostile_music_settings_are_one_error_line(tmp_path, maestro_folder):
    """Issue 29, item 18: `music train --set max_len=-1`, a remi beat_res of 0 positions per beat."""
    r = cli("music", "train", "--data", maestro_folder, "--preset", "tiny", "--set", "max_len=-1", "--steps", 1,
            "--out", tmp_path / "r", "--device", "cpu")
    _fails(r, "max_len must be at least 1")
    pytest.importorskip("miditok")
    r = cli("music", "tokenize", "--data", maestro_folder, "--out", tmp_path / "t.npz", "--tokenizer", "remi",
            "--tokenizer-option", "beat_res=0-4:0")
    _fails(r, "beat_res '0-4:0'")


def test_generate_out_dash_and_several_pieces_for_one_sink(tmp_path):
    """`music generate --out -` writes the MIDI on stdout (the summary on stderr); -n 3 into one
    sink (-, /dev/null) is refused before any model is loaded."""
    _fails(cli("music", "generate", "--model", tmp_path / "missing.json", "-n", 3, "--out", "-"), "takes one output")
    _fails(cli("music", "generate", "--model", tmp_path / "missing.json", "-n", 2, "--out", "/dev/null"),
           "takes one output")
    r = cli("music", "generate", "--tokens", 8, "--seed", 1, "--device", "cpu", "--out", "-")
    assert r.exit_code == 0, r.output
    assert r.stdout_bytes.startswith(b"MThd") and not (tmp_path / "-").exists()
