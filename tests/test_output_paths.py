"""No writer replaces what stands at an output path (issue 29, item 12): a FIFO or a character
device is written into, `-` is standard output, a symbolic link is refused with one Error line,
and a linked `.seqkit.lock` never truncates what it points at."""

import os
import threading

import pytest

from seqkit import SeqkitError, atomic_write_bytes
from seqkit.io import check_writable, numbered
from seqkit.io.locks import hold_lock
from seqkit.io.paths import output_kind


def _read_fifo(path, into):
    with open(path, "rb") as f:
        into.append(f.read())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=_read_fifo, args=(fifo, got))
    reader.start()
    check_writable(fifo, "--out")
    atomic_write_bytes(fifo, b"MThd data")
    reader.join(10)
    assert got == [b"MThd data"]
    assert os.path.exists(fifo) and not fifo.is_file()  # still the FIFO
    assert sorted(os.listdir(tmp_path)) == ["pipe"]  # no temporary file left


def test_dev_null_is_a_sink_not_a_file():
    assert output_kind("/dev/null") == "through"
    check_writable("/dev/null")
    atomic_write_bytes("/dev/null", b"x")  # would need to replace /dev/null before the fix
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_a_symlink_is_refused_and_its_target_kept(tmp_path):
    target = tmp_path / "mine.mid"
    target.write_bytes(b"precious")
    link = tmp_path / "out.mid"
    link.symlink_to(target)
    for call in (lambda: check_writable(link, "--out"), lambda: atomic_write_bytes(link, b"new")):
        with pytest.raises(SeqkitError, match="symbolic link"):
            call()
    assert link.is_symlink() and target.read_bytes() == b"precious"
    dangling = tmp_path / "gone.mid"
    dangling.symlink_to(tmp_path / "nowhere.mid")
    with pytest.raises(SeqkitError, match="symbolic link"):
        atomic_write_bytes(dangling, b"new")
    assert not (tmp_path / "nowhere.mid").exists()


def test_dash_is_stdout(capsysbinary):
    atomic_write_bytes("-", b"to stdout")
    assert capsysbinary.readouterr().out == b"to stdout"
    check_writable("-", "--out")
    with pytest.raises(SeqkitError, match="one output"):
        numbered("-", 3, "mid")
    with pytest.raises(SeqkitError, match="one output"):
        numbered("/dev/null", 2, "mid")
    assert numbered("a.mid", 2) == [numbered("a.mid", 1)[0].with_name("a_1.mid"),
                                    numbered("a.mid", 1)[0].with_name("a_2.mid")]


def test_a_linked_lock_file_does_not_truncate_its_target(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    lock = tmp_path / "run" / ".seqkit.lock"
    lock.parent.mkdir()
    lock.symlink_to(target)
    with pytest.raises(SeqkitError, match="symbolic link"):
        with hold_lock(lock, "the run folder run"):
            pass
    assert target.read_text() == "keep me"
