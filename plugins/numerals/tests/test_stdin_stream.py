"""`num2words -` streams standard input (issue 29, item 18): the first words are printed while the
input is still being written, a reader that leaves early (`| head`) ends it cleanly, and a closed
stdin is one Error line."""

import os
import subprocess
import sys
import threading
import time

import seqkit_numerals.plugin as plugin

from seqkit.testing import run_cli


def _seqkit(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "seqkit", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)


def test_words_come_out_before_the_input_ends_and_head_is_clean():
    proc = _seqkit("num2words", "-", stdin=subprocess.PIPE)
    stop = threading.Event()

    def feed():  # an endless producer, like `yes 7 | seqkit num2words -`
        try:
            i = 0
            while not stop.is_set():
                proc.stdin.write(b"".join(b"%d\n" % (i + k) for k in range(100)))
                proc.stdin.flush()
                i += 100
                time.sleep(0.01)
        except (BrokenPipeError, OSError):
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    watchdog = threading.Timer(60, proc.kill)  # reading all of stdin first would never end: fail, not hang
    watchdog.start()
    first = [proc.stdout.readline() for _ in range(3)]  # while the producer still writes
    assert first == [b"zero\n", b"one\n", b"two\n"]
    assert proc.poll() is None  # the input has not ended, yet words came out
    proc.stdout.close()  # `head -3` leaves
    try:
        rc = proc.wait(timeout=120)
    finally:
        watchdog.cancel()
        stop.set()
        feeder.join(10)
        try:
            proc.stdin.close()
        except BrokenPipeError:  # the process has gone: what the pipe held is lost, as it should be
            pass
    err = proc.stderr.read().decode()
    assert rc == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_closed_stdin_is_one_error_line():
    proc = _seqkit("num2words", "-", preexec_fn=lambda: os.close(0))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    err = err.decode()
    assert err.count("Error:") == 1 and "standard input" in err and "Traceback" not in err


def test_many_lines_in_process():
    numbers = "\n".join(str(i) for i in range(3000)) + "\n"
    r = run_cli(["num2words", "5", "-"], plugins=[plugin], input=numbers)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == 3001 and lines[0] == "five" and lines[1] == "zero" and lines[-1] == "two thousand, nine hundred and ninety-nine"


def test_an_endless_line_is_one_error_line():
    with open("/dev/zero", "rb") as zero:
        proc = _seqkit("num2words", "-", stdin=zero)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert err.decode().count("Error:") == 1 and b"longer than" in err and b"Traceback" not in err
