"""Faults and bad input that must end in one clear line, never a traceback (issue 15)."""

import json
import sys
from pathlib import Path

import pytest

from seqkit import CheckpointError, SeqkitError
from seqkit.train import TrainConfig

sys.path.insert(0, str(Path(__file__).parent))
import reliability_run  # noqa: E402


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished tiny run (8 steps, 4 evaluations) and its final state."""
    out = tmp_path_factory.mktemp("finished") / "run"
    reliability_run.train(out)
    return out, reliability_run._final_state(out)


def _copy(run: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(run, dest)
    return dest


# ---------------------------------------------------------------- metrics.jsonl after a crash

@pytest.mark.parametrize("damage", [
    b'{"event": "eval", "step": 8, "ep',  # a cut last line: a crash mid-append
    b"garbage\n",
    b"\xff\xfe not utf-8\n",
    b"[1, 2, 3]\n",
    b'{"step": "x"}\n',
])
def test_resume_reads_a_damaged_metrics_file_and_says_what_it_dropped(tmp_path, finished_run, damage, capsys):
    run, state = finished_run
    out = _copy(run, tmp_path / "run")
    with open(out / "metrics.jsonl", "ab") as f:
        f.write(damage)
    reliability_run.train(out, resume=True)
    err = capsys.readouterr().err
    assert "dropped 1 unreadable line(s)" in err
    assert reliability_run._final_state(out)["rows"] == state["rows"]


def test_resume_drops_rows_after_the_checkpoint_instead_of_duplicating_them(tmp_path, capsys):
    """A kill between the metrics append and last.json leaves a row last.json does not cover."""
    out = tmp_path / "run"
    reliability_run.train(out)
    rows = (out / "metrics.jsonl").read_text().splitlines()
    meta = json.loads((out / "last.json").read_text())
    # as if killed at step 6, after the metrics row of step 8 ... but before last.json moved on
    meta["trainer"].update(step=6, batch_in_epoch=6, eval_due=False)
    (out / "last.json").write_text(json.dumps(meta))
    reliability_run.train(out, resume=True)
    assert "dropped 1 row(s) after step 6, which last.json does not cover" in capsys.readouterr().err
    steps = [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [json.loads(x)["step"] for x in rows] == [2, 4, 6, 8]


def test_a_fresh_run_does_not_keep_the_rows_of_a_run_that_never_saved(tmp_path, finished_run):
    run, state = finished_run
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.jsonl").write_bytes((run / "metrics.jsonl").read_bytes() + b'{"step": 2, "cut')
    reliability_run.train(out)
    assert reliability_run._final_state(out)["rows"] == state["rows"]


def test_leftover_temporary_and_unreferenced_weight_files_are_removed(tmp_path, finished_run):
    run, state = finished_run
    out = _copy(run, tmp_path / "run")
    junk = [out / ".last.json.abcd1234.tmp", out / ".last-0123456789ab.safetensors.x1.tmp",
            out / "last-0123456789ab.safetensors", out / "last.train-ba9876543210.safetensors",
            out / "best-0123456789ab.safetensors"]
    for f in junk:
        f.write_bytes(b"left by a crash")
    keep = out / "notes-0123456789ab.safetensors"  # not a checkpoint's: not ours to delete
    keep.write_bytes(b"the user's")
    reliability_run.train(out, resume=True)
    assert [f.name for f in junk if f.exists()] == []
    assert keep.exists()
    meta = json.loads((out / "last.json").read_text())
    assert (out / meta["weights"]).exists() and (out / meta["train_state"]).exists()


@pytest.mark.parametrize("damage", ["no last.json", "dangling link", "looping link"])
@pytest.mark.parametrize("resume", [False, True])
def test_a_folder_with_history_but_no_readable_last_json_is_refused_not_replaced(tmp_path, finished_run,
                                                                                  damage, resume):
    run, _ = finished_run
    out = _copy(run, tmp_path / "run")
    (out / "last.json").unlink()
    if damage == "dangling link":
        (out / "last.json").symlink_to(out / "gone.json")
    elif damage == "looping link":
        (out / "last.json").symlink_to(out / "last.json")
    before = {n: (out / n).read_bytes() for n in ("best.json", "metrics.jsonl")}
    with pytest.raises(SeqkitError) as exc:
        reliability_run.train(out, resume=resume)
    message = str(exc.value)
    assert "\n" not in message and ("best.json and metrics.jsonl but no last.json" in message
                                    or "is a link that leads to no file" in message), message
    assert {n: (out / n).read_bytes() for n in before} == before


def test_the_runs_own_temporary_files_are_removed_but_not_a_users(tmp_path, finished_run):
    run, _ = finished_run
    out = _copy(run, tmp_path / "run")
    mine = [out / ".notes.draft.tmp", out / ".last.json.draft.tmp.keep", out / ".tmp"]
    for f in mine:
        f.write_text("the user's")
    ours = out / ".metrics.jsonl.k2j4h5g1.tmp"
    ours.write_text("cut short")
    reliability_run.train(out, resume=True)
    assert all(f.exists() for f in mine) and not ours.exists()


@pytest.mark.parametrize("field, value", [
    ("trainer", None), ("trainer.step", 10**12), ("trainer.epoch", 10**6),
    ("trainer", ["not", "a", "dict"]), ("trainer.step", "x"), ("trainer.step", -3),
    ("trainer.best_val", "low"), ("trainer.best_on", 7), ("train_state_layout", {"__tensor__": "nope"}),
    ("train_state_layout", 5),
])
def test_resume_from_damaged_trainer_fields_is_one_clear_error(tmp_path, finished_run, field, value):
    run, _ = finished_run
    out = _copy(run, tmp_path / "run")
    meta = json.loads((out / "last.json").read_text())
    if field.startswith("trainer."):
        meta["trainer"][field.split(".")[1]] = value
    else:
        meta[field] = value
    (out / "last.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="cannot resume|damaged") as exc:
        reliability_run.train(out, resume=True)
    assert "\n" not in str(exc.value)


# ---------------------------------------------------------------- damaged checkpoints

def test_checkpoints_with_a_bad_format_version_deep_json_or_nan_weights_are_refused(tmp_path, finished_run):
    from seqkit import load_checkpoint
    from seqkit.host.plugins import register_plugin, unregister_plugin
    from seqkit.io import list_checkpoints, read_meta, save_checkpoint, user_checkpoint_dir

    run, _ = finished_run
    meta = json.loads((run / "best.json").read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**meta, "format_version": "one"}))
    with pytest.raises(CheckpointError, match="format_version is 'one'"):
        read_meta(bad)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="nested too deeply"):
        read_meta(deep)

    ckpt = load_checkpoint(run / "best.json")
    for p in ckpt.model.parameters():
        p.data.fill_(float("nan"))
    nan = save_checkpoint(tmp_path / "nan.json", ckpt.model, model_type="transformer-lm",
                          config=ckpt.meta["config"], tokenizer=ckpt.meta["tokenizer"])
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(nan)

    # one such file in the user's folder: `seqkit models` lists it as unreadable
    import seqkit

    class Plugin:
        @seqkit.hookimpl
        def register_tasks(self, register):
            register(seqkit.Task("test"))

    register_plugin(Plugin(), name="test-task")
    try:
        folder = user_checkpoint_dir("test")
        folder.mkdir(parents=True)
        (folder / "odd.json").write_text(bad.read_text())
        rows = list_checkpoints("test")
        assert rows[0]["name"] == "odd" and "format_version" in rows[0]["error"]
    finally:
        unregister_plugin("test-task")


def test_a_huge_config_is_refused_before_anything_is_allocated(tmp_path, finished_run):
    from seqkit import load_checkpoint

    run, _ = finished_run
    meta = json.loads((run / "best.json").read_text())
    (tmp_path / meta["weights"]).write_bytes((run / meta["weights"]).read_bytes())
    for n_embd, message in ((2**20, "do not fit"), (10**9, "too large|must be at most")):  # terabytes, or past any size, if built
        meta["config"]["n_embd"] = n_embd
        (tmp_path / "huge.json").write_text(json.dumps(meta))
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(tmp_path / "huge.json")


# ---------------------------------------------------------------- environment and seeds

@pytest.mark.parametrize("env, message", [
    ({"WORLD_SIZE": "banana"}, "WORLD_SIZE='banana' is not a whole number"),
    ({"WORLD_SIZE": "2"}, "WORLD_SIZE=2 but no MASTER_ADDR"),
    ({"WORLD_SIZE": "2", "RANK": "5", "MASTER_ADDR": "localhost"}, "RANK=5 and WORLD_SIZE=2 do not fit"),
])
def test_a_bad_world_size_is_one_clear_error(tmp_path, monkeypatch, env, message):
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SeqkitError, match=message):
        reliability_run.train(tmp_path / "run")


def test_seeds_are_checked_in_one_place(tmp_path):
    from seqkit.options import SEED_MAX, check_seed, seed_everything

    for bad in (2**70, -1, 1.5, True):
        with pytest.raises(SeqkitError, match="a seed must be a whole number"):
            check_seed(bad)
        with pytest.raises(SeqkitError):
            TrainConfig(steps=1, seed=bad)
    seed_everything(SEED_MAX)
    with pytest.raises(SeqkitError):
        seed_everything(2**64)
    assert TrainConfig(steps=1, seed=SEED_MAX).seed == SEED_MAX


def test_the_largest_seed_trains(tmp_path):
    from helpers import pattern_data

    from seqkit.models import RNNLM, RNNConfig
    from seqkit.options import SEED_MAX
    from seqkit.testing import train_steps

    tok, items = pattern_data(16)
    model = RNNLM(RNNConfig(vocab_size=tok.vocab_size, hidden=8, n_layer=1))
    result = train_steps(model, items, steps=2, out=tmp_path / "run", seed=SEED_MAX)
    assert result["steps"] == 2


@pytest.mark.parametrize("args", [["names", "--seed", str(2**70)], ["names", "train", "--seed", str(2**70)],
                                  ["abc", "generate", "--seed", str(2**70)],
                                  ["music", "generate", "--seed", str(2**70)]])
def test_a_seed_too_large_is_a_usage_error(args):
    from seqkit.testing import run_cli

    result = run_cli(args)
    if "No such command" in result.output:
        pytest.skip(f"the plugin of {args[0]} is not installed")
    assert result.exit_code == 2, result.output
    assert "--seed" in result.output and "Traceback" not in result.output


def test_seqkit_debug_0_keeps_tracebacks_off():
    from seqkit.testing import run_cli

    for value in ("0", "", "false"):
        result = run_cli(["models", "--task", "no-such-task"], env={"SEQKIT_DEBUG": value})
        assert result.exit_code == 2 and result.stderr.startswith("Error: unknown task")
    with pytest.raises(SeqkitError):
        run_cli(["models", "--task", "no-such-task"], env={"SEQKIT_DEBUG": "1"}, catch_exceptions=False)


# ---------------------------------------------------------------- a read-only home

@pytest.mark.parametrize("args", [["names", "--country", "Greek", "-n", "2", "--seed", "1"],
                                  ["num2words", "42"], ["models", "--json"], ["doctor", "--json"],
                                  ["abc", "generate", "-n", "1", "--max-chars", "30", "--seed", "1"]])
def test_shipped_models_need_no_writable_home(tmp_path, monkeypatch, args):
    from seqkit.testing import run_cli

    blocker = tmp_path / "a-file"
    blocker.write_text("")  # nothing can be created below a file, not even by root
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(blocker / "data"))
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(blocker / "cache"))
    result = run_cli(args)
    if "No such command" in result.output:
        pytest.skip(f"the plugin of {args[0]} is not installed")
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr  # nothing falls back (ONNX Runtime needs no writable home)
    if args[0] == "doctor":
        report = json.loads(result.stdout)
        assert "is not a folder" in report["data folder"] and "is not a folder" in report["checkpoint folder"]


def test_looking_models_up_creates_no_folder(tmp_path, monkeypatch):
    from seqkit.testing import run_cli

    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "nonexistent" / "data"))
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "nonexistent" / "cache"))
    assert run_cli(["models", "--json"]).exit_code == 0
    assert run_cli(["doctor", "--json"]).exit_code == 0
    assert not (tmp_path / "nonexistent").exists()


def test_a_data_folder_that_cannot_be_made_is_one_clear_error(tmp_path, monkeypatch):
    from seqkit.io import data_dir

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(blocker / "data"))
    with pytest.raises(SeqkitError, match="set SEQKIT_DATA_DIR to a writable folder"):
        data_dir("runs")


# ---------------------------------------------------------------- exports

def test_two_exports_to_one_model_name_do_not_both_proceed(tmp_path, finished_run):
    from seqkit import export_checkpoint
    from seqkit.io.locks import LockedError, hold_lock

    run, _ = finished_run
    dest = tmp_path / "models" / "mine.json"
    with hold_lock(dest.parent / ".mine.lock", "the model"):  # as another process exporting now
        import subprocess

        code = ("import sys; from seqkit import export_checkpoint; "
                f"export_checkpoint({str(run / 'best.json')!r}, {str(dest)!r})")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode != 0 and "is in use by another seqkit process" in proc.stderr
        assert not dest.exists()
        with pytest.raises(LockedError):  # flock: a second open file in one process is refused too
            export_checkpoint(run / "best.json", dest)
    assert export_checkpoint(run / "best.json", dest) == dest  # free again
