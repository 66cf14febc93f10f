"""A training run's folder: the check before a run starts, the leftovers a crash may leave,
``metrics.jsonl`` (one JSON row per evaluation, appended and ``fsync``ed; cleaned on resume) and
the check that a checkpoint to resume fits the model."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from seqkit.errors import SeqkitError
from seqkit.progress import info

# what a run writes in its folder, and the temporary files of its atomic writes (``.NAME.XXXX.tmp``):
# only those are a run's to remove; a user's own ``.notes.draft.tmp`` stays
_RUN_FILE = (r"(?:(?:last|best)(?:\.train)?(?:\.json|-[0-9a-f]{12}\.safetensors)|last\.rank\d+\.safetensors"
             r"|metrics\.jsonl|loss\.png)")
_RUN_TMP = re.compile(rf"\.{_RUN_FILE}\.[A-Za-z0-9_]+\.tmp")


def check_run_folder(out, resume: bool = False) -> Path:
    """Refuse a run folder that cannot take this run: a file, an earlier run (``last.json``)
    unless resuming it, an earlier run's history that cannot be resumed (``best.json`` without
    ``last.json``, a ``last.json`` link that leads nowhere), or a place that cannot be written.
    ``Trainer.fit()`` checks this; call it yourself before slow data preparation, so that a bad
    ``--out`` fails at once. A run's history is only ever extended, never replaced."""
    if str(out).strip() == "":
        raise SeqkitError("--out is empty; give a folder for the run")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SeqkitError(f"{out} is a file; give a folder for the run")
    last = out / "last.json"
    if os.path.islink(last) and not last.exists():  # dangling, or a loop
        raise SeqkitError(f"{last} is a link that leads to no file: the run in {out} cannot be read; "
                          f"repair or remove the link, or choose another output folder")
    if last.exists() and not resume:
        raise SeqkitError(f"{out} already holds a run; pass --resume to continue it or choose another output folder")
    if not last.exists():
        history = [n for n in ("best.json", "metrics.jsonl") if os.path.lexists(out / n)]
        if "best.json" in history:
            raise SeqkitError(f"{out} holds an earlier run's {' and '.join(history)} but no last.json to resume "
                              f"from; choose another output folder (or move those files away)")
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise SeqkitError(f"cannot write the run folder {out}: {existing} is not a writable folder")
    return out


def check_export_target(target, out) -> None:
    """Refuse an export (``--save``) onto the run folder's own state: ``RUN/last.json`` or
    ``RUN/best.json`` (the export would replace what ``--resume`` reads)."""
    target, out = Path(target).expanduser(), Path(out).expanduser()
    if target.stem in ("last", "best") and target.parent.resolve() == out.resolve():
        raise SeqkitError(f"--save {target} is the run's own {target.stem}.json in {out}; "
                          f"export elsewhere (a name, or a .json path outside the run's files)")


def clean_run_folder(out: Path, resumed: bool) -> None:
    """Create ``out`` and remove what a crash or an earlier run left: the run's own temporary
    files, weights no checkpoint names, and (when not resuming) the metrics of a run that saved
    no checkpoint."""
    from seqkit.io.checkpoints import remove_unreferenced

    out.mkdir(parents=True, exist_ok=True)
    for tmp in out.glob(".*.tmp"):  # a write that a crash cut short; the folder is locked
        if _RUN_TMP.fullmatch(tmp.name):
            tmp.unlink(missing_ok=True)
    for stem in ("last", "best"):  # weights a crash wrote but no checkpoint names
        remove_unreferenced(out, stem)
    if not resumed:  # the other ranks' states of an earlier run (DDP) belong to no last.json
        for rank_file in out.glob("last.rank*.safetensors"):
            rank_file.unlink(missing_ok=True)
    stale = out / "metrics.jsonl"
    if not resumed and stale.exists():  # rows of a run that never checkpointed
        stale.unlink()
        info(f"{stale}: removed the rows of an earlier run that saved no checkpoint")


def append_metrics(out: Path, row: dict) -> None:
    """Append one row to ``out/metrics.jsonl`` and ``fsync`` it (before ``last.json`` is saved:
    resume drops the rows it does not cover)."""
    with open(out / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_metrics(path: Path, upto_step: int) -> tuple[list[dict], int, int]:
    """The rows of ``metrics.jsonl`` up to ``upto_step`` (one per step, the last written), and how
    many lines were unreadable (a crash mid-append leaves a cut line) and how many rows were after
    ``upto_step`` (written after the checkpoint the run resumes from)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], 0, 0
    by_step: dict[int, dict] = {}
    bad = later = 0
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            row = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            bad += 1
            continue
        step = row.get("step") if isinstance(row, dict) else None
        if not isinstance(step, int) or isinstance(step, bool):
            bad += 1
        elif step > upto_step:
            later += 1
        else:
            by_step.pop(step, None)
            by_step[step] = row
    return list(by_step.values()), bad, later


def keep_metrics(out: Path, upto_step: int, write: bool = True) -> list[dict]:
    """Rewrite ``out/metrics.jsonl`` to the readable rows up to ``upto_step`` (what the checkpoint
    covers), saying what was dropped; returns them."""
    from seqkit.io.checkpoints import atomic_write_bytes

    path = out / "metrics.jsonl"
    rows, bad, later = read_metrics(path, upto_step)
    if bad or later:
        what = [f"{bad} unreadable line(s)"] if bad else []
        what += [f"{later} row(s) after step {upto_step}, which last.json does not cover"] if later else []
        info(f"{path}: dropped {' and '.join(what)}")
    if path.exists() and write:
        atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in rows).encode())
    return rows


def check_fits(own: dict, saved: dict, out) -> None:
    """Refuse to resume the run in ``out`` when its checkpoint's weights ``saved`` do not fit the
    model's state dict ``own`` (other model settings): one line naming the first difference."""
    from seqkit.errors import CheckpointError

    problem = None
    for key in [*own, *(k for k in saved if k not in own)]:  # in the model's order
        if key not in saved:
            problem = f"{key} is missing from the checkpoint"
        elif key not in own:
            problem = f"{key} is in the checkpoint but not in the model"
        elif tuple(own[key].shape) != tuple(saved[key].shape):
            problem = (f"{key} has shape {list(saved[key].shape)} in the checkpoint "
                       f"but {list(own[key].shape)} in the model")
        if problem:
            raise CheckpointError(
                f"cannot resume from {out}: its checkpoint was trained with different "
                f"model settings ({problem}); use the same settings or another output folder"
            )
