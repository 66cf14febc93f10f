"""abc's writers (issue 29, items 10 and 12): `generate --out t.abc` writes the file instead of
stdout; `--out -` is stdout; a FIFO is written into; a symlink is refused before any work and
its target kept; `to-midi` treats its --out the same."""

import os
import threading

import pytest

TUNE = "X:1\nT:Tiny\nM:4/4\nL:1/8\nK:D\n|:DEFG ABcd|edcB AFD2:|\n"


def _fails(r, text):
    assert r.exit_code == 2, r.output
    assert r.stderr.count("Error:") == 1 and text in r.stderr, r.stderr
    assert "Traceback" not in r.output


def test_generate_out_does_not_also_print_the_tunes(h, tiny_run, tmp_path):
    r = h.cli(["abc", "generate", "-m", tiny_run["ckpt"], "-n", "2", "--seed", "1", "--device", "cpu",
               "--out", tmp_path / "t.abc"], tmp_path)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "t.abc").read_text().startswith("X:")
    assert r.stdout == ""  # "instead of stdout"
    assert f"wrote {tmp_path / 't.abc'}" in r.stderr


def test_generate_out_dash_is_stdout_and_a_symlink_is_refused(h, tiny_run, tmp_path):
    args = ["abc", "generate", "-m", tiny_run["ckpt"], "-n", "1", "--seed", "1", "--device", "cpu"]
    r = h.cli(args + ["--out", "-"], tmp_path)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("X:") and r.stdout == h.cli(args, tmp_path).stdout
    assert not (tmp_path / "-").exists()
    _fails(h.cli(args + ["--out", "-", "--json"], tmp_path), "--json prints on standard output")
    mine = tmp_path / "mine.abc"
    mine.write_text("mine")
    (tmp_path / "link.abc").symlink_to(mine)
    _fails(h.cli(args + ["--out", tmp_path / "link.abc"], tmp_path), "symbolic link")
    assert mine.read_text() == "mine" and (tmp_path / "link.abc").is_symlink()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_to_midi_writes_into_a_fifo_and_refuses_a_symlink(h, tmp_path):
    src = tmp_path / "tune.abc"
    src.write_text(TUNE)
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    r = h.cli(["abc", "to-midi", src, "--out", fifo], tmp_path)
    reader.join(30)
    assert r.exit_code == 0, r.output
    assert got and got[0].startswith(b"MThd")
    assert not fifo.is_file() and os.path.exists(fifo)
    (tmp_path / "mine.mid").write_bytes(b"mine")
    (tmp_path / "link.mid").symlink_to(tmp_path / "mine.mid")
    _fails(h.cli(["abc", "to-midi", src, "--out", tmp_path / "link.mid"], tmp_path), "symbolic link")
    assert (tmp_path / "mine.mid").read_bytes() == b"mine"
    r = h.cli(["abc", "to-midi", src, "--out", "/dev/null"], tmp_path)
    assert r.exit_code == 0, r.output
