"""The reliability suite: crashes, signals and two processes on one run folder.

Each test runs ``tests/reliability_run.py`` (a tiny Transformer with dropout, 8 steps, an
evaluation and save every 2) in child processes, and checks what docs/architecture.md promises
("What a crash leaves"): a run killed with SIGKILL at any file operation of a save resumes to the
very weights an uninterrupted run ends with; SIGTERM, SIGHUP and Ctrl-C stop it cleanly; a second
run on the same folder is refused, and a lock left by a killed run does not block.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

RUNNER = Path(__file__).parent / "reliability_run.py"

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32",
                                reason="needs POSIX signals and fork")


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "SEQKIT_PROGRESS": "0"}


def _ctrl_c_on():
    """In the child: Ctrl-C and hang-up as a terminal delivers them, even where this test runs with
    SIGINT ignored (a background job of a shell) or SIGHUP ignored (under nohup): these tests are
    about seqkit's handling, not about nohup's (seqkit keeps an ignored signal ignored, tested below)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _start(*args, **kwargs):
    return subprocess.Popen([sys.executable, str(RUNNER), *map(str, args)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_on,
                            **kwargs)


def _finish(proc, timeout=240):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _wait_for(condition, timeout=120.0, what=""):
    end = time.time() + timeout
    while time.time() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _pending(pid: int, sig: int) -> bool:
    """Whether ``sig`` is still pending for process ``pid`` (sent, not yet handed to its handler)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # the process is gone
        return False
    masks = [int(line.split()[1], 16) for line in status.splitlines() if line.startswith(("SigPnd:", "ShdPnd:"))]
    return any(mask >> (sig - 1) & 1 for mask in masks)


def _signal(proc, sig) -> None:
    """Send ``sig`` and wait until the process has taken it (no longer pending), so that the next
    signal is a press of its own: an event, not a guessed pause."""
    proc.send_signal(sig)
    if Path("/proc/self/status").exists():
        _wait_for(lambda: proc.poll() is not None or not _pending(proc.pid, sig), what=f"{sig!r} taken")


def _holds_lock(out: Path, proc) -> bool:
    lock = out / ".seqkit.lock"
    return lock.exists() and lock.read_text().strip() == str(proc.pid)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The final state of an uninterrupted run (trained in this process: the same on CPU)."""
    sys.path.insert(0, str(RUNNER.parent))
    import reliability_run

    from seqkit.train import trainer as training

    out = tmp_path_factory.mktemp("reference") / "run"
    plot, training.Trainer.plot = training.Trainer.plot, lambda self: None
    try:
        reliability_run.train(out)
    finally:
        training.Trainer.plot = plot
    return reliability_run._final_state(out)


def _same(out: Path, reference) -> str:
    import reliability_run

    return reliability_run._same(reliability_run._final_state(out), reference)


def _resume(out: Path, monkeypatch) -> dict:
    """Resume in this process (a new one for the run that stopped): one torch import less."""
    import reliability_run

    from seqkit.train import trainer as training

    monkeypatch.setattr(training.Trainer, "plot", lambda self: None)
    return reliability_run.train(out, resume=True)


def test_kill_9_at_every_file_operation_of_a_save_then_resume_equals_an_uninterrupted_run(tmp_path):
    code, out, err = _finish(_start("crash-suite", tmp_path), timeout=600)
    assert code == 0, err[-2000:]
    summary = json.loads(out)
    # the second evaluation's save: metrics append, best.json and last.json with their weights
    assert summary["crash_points"] >= 30
    assert {"write metrics.jsonl", "fsync", "write tmp"} <= set(summary["ops"])
    assert any(op.startswith("replace .last.json") for op in summary["ops"])
    assert any(op.startswith("unlink last-") for op in summary["ops"])
    assert summary["killed"] == summary["crash_points"]
    assert summary["failures"] == []


def test_a_second_run_or_resume_on_a_folder_in_use_is_refused(tmp_path, reference):
    out = tmp_path / "run"
    first = _start("run", out, "--hold-after", 0)  # it locks the folder, then waits for OUT.go
    try:
        _wait_for(lambda: _holds_lock(out, first), what="the first run to lock its folder")
        in_use = f"the run folder {out} is in use by another seqkit process (process {first.pid})"
        for args in (["--hidden", 24], ["--resume"]):
            code, _, err = _finish(_start("run", out, *args))
            assert code == 2 and "Traceback" not in err, err
            assert in_use in err
    finally:
        Path(f"{out}.go").touch()
        code, _, err = _finish(first)
    assert code == 0, err
    assert _same(out, reference) == ""  # the others changed nothing


def test_a_lock_left_by_a_killed_run_does_not_block_resume(tmp_path, reference, monkeypatch):
    out = tmp_path / "run"
    proc = _start("run", out, "--hold-after", 2)  # waits after the first checkpoint
    _wait_for(lambda: (out / "last.json").exists(), what="the first checkpoint")
    proc.kill()
    proc.wait()
    assert (out / ".seqkit.lock").read_text().strip() == str(proc.pid)
    assert _resume(out, monkeypatch)["steps"] == 8
    assert _same(out, reference) == ""


@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGHUP], [signal.SIGINT] * 3])
def test_sigterm_sighup_and_repeated_ctrl_c_stop_save_and_resume_exactly(tmp_path, reference, signals,
                                                                          monkeypatch):
    out = tmp_path / "run"
    proc = _start("run", out, "--hold-after", 2, start_new_session=True)
    _wait_for(lambda: Path(f"{out}.holding").exists(), what="the run to wait in step 3, past its first save")
    for sig in signals:
        _signal(proc, sig)
    Path(f"{out}.go").touch()
    code, stdout, err = _finish(proc)
    assert code == 0, err
    assert json.loads(stdout)["interrupted"] is True
    assert "Traceback" not in err and "Exception ignored" not in err
    assert f"interrupted by {signal.Signals(signals[0]).name} at step " in err
    _resume(out, monkeypatch)
    assert _same(out, reference) == ""


def test_ctrl_c_during_an_evaluation_redoes_it_on_resume(tmp_path, reference, monkeypatch):
    out = tmp_path / "run"
    proc = _start("run", out, "--hold-eval")  # it waits in the first evaluation batch for OUT.go
    _wait_for(lambda: Path(f"{out}.holding").exists(), what="an evaluation")
    proc.send_signal(signal.SIGINT)  # handled at once: the child sleeps in short naps
    Path(f"{out}.go").touch()
    code, stdout, err = _finish(proc)
    assert code == 0, err
    assert json.loads(stdout)["interrupted"] is True
    assert json.loads((out / "last.json").read_text())["trainer"]["eval_due"] is True
    _resume(out, monkeypatch)
    assert _same(out, reference) == ""  # every evaluation's row is there, the interrupted one too


KIT = Path(__file__).parent / "kit_run.py"


@pytest.mark.parametrize("when", ["during the export", "quickly"])
def test_three_quick_ctrl_c_still_save_and_export(tmp_path, when):
    """Ctrl-C pressed three times: the first stops training; the others, wherever they land (in
    the last save, the export, the exit), change nothing: the export is written, exit 0."""
    out, save = tmp_path / "run", tmp_path / "mine.json"
    env = {**_env(), "SEQKIT_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, str(KIT), str(out), str(save)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_ctrl_c_on)
    try:
        _wait_for(lambda: Path(f"{out}.ready").exists() or proc.poll() is not None, what="the first evaluation")
        _signal(proc, signal.SIGINT)
        if when == "during the export":
            _wait_for(lambda: Path(f"{out}.exporting").exists() or proc.poll() is not None, what="the export")
        _signal(proc, signal.SIGINT)
        _signal(proc, signal.SIGINT)
    finally:
        Path(f"{out}.go").touch()
        code, stdout, err = _finish(proc)
    assert code == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err and "Aborted" not in err, err
    assert "interrupted by SIGINT at step " in err
    assert stdout.strip() == str(save) and save.exists() and (out / "last.json").exists()


def test_an_ignored_signal_stays_ignored_during_training():
    """`nohup seqkit ... train` means "go on when the terminal hangs up": the Trainer's handlers
    take SIGINT/SIGTERM/SIGHUP only where they are not ignored, and give the old ones back after."""
    from seqkit.train.signals import stop_on_signals

    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        seen = []
        with stop_on_signals(seen.append):
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_IGN, signal.SIG_DFL)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN and seen == []
    finally:
        signal.signal(signal.SIGHUP, before)
