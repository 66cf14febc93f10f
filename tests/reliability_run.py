"""A tiny training run (a Transformer with dropout) that the reliability tests crash, stop and resume.

    python tests/reliability_run.py run OUT [--resume] [--hidden N] [--slow S] [--slow-eval S]
    python tests/reliability_run.py crash-suite WORK     # kill -9 at every file operation of a save

``run`` trains in OUT and prints the ``fit`` result as JSON; ``--slow`` sleeps S seconds in every
batch and ``--slow-eval`` in every evaluation batch (so that a test can send a signal meanwhile;
a file ``OUT.evaluating`` appears while an evaluation runs); ``--hold-after N`` waits after N
batches until the file ``OUT.go`` exists (``--hold-eval``: in the first evaluation batch), and
while it waits the file ``OUT.holding`` exists. ``crash-suite`` is
described in docs/architecture.md ("What a crash leaves"): it trains once without interruption,
then once per file operation of the run's second evaluation-and-save, each time killing itself
with SIGKILL at that operation (a write is cut in half first), resumes in a new process and checks
that the final weights, optimizer state and metrics equal the uninterrupted run's exactly. It
prints a JSON summary. Every run is a ``fork`` of one process that imported torch once, so the
suite takes seconds.
"""

from __future__ import annotations

import argparse
import builtins
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

STEPS, EVAL_EVERY = 8, 2


def _data():
    import torch

    from seqkit import CharTokenizer

    text = "abcabdabce"
    tok = CharTokenizer.build([text])
    g = torch.Generator().manual_seed(0)
    items = []
    for _ in range(64):
        shift = int(torch.randint(len(text), (1,), generator=g))
        ids = torch.tensor(tok.encode((text * 3)[shift:shift + 10], add_bos=True, add_eos=True))
        items.append({"input": ids[:-1], "target": ids[1:]})
    return tok, items[:40], items[40:]  # 3 evaluation batches: a signal can come between them


def train(out: Path, resume: bool = False, hidden: int = 16, slow: float = 0.0, slow_eval: float = 0.0,
          hold_after: int = -1, hold_eval: bool = False) -> dict:
    import torch

    from seqkit import Trainer, lm_loss
    from seqkit.models import TransformerConfig, TransformerLM
    from seqkit.testing import lm_collate
    from seqkit.train import TrainConfig

    torch.set_num_threads(1)
    tok, train_set, val_set = _data()
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=hidden,
                               max_len=16, dropout=0.3)
    model = TransformerLM(config)
    collate = lm_collate(tok.pad_id)

    def slow_collate(items):
        if slow:
            time.sleep(slow)
        return collate(items)

    marker = Path(f"{out}.evaluating")

    go, steps = Path(f"{out}.go"), []

    holding = Path(f"{out}.holding")

    def hold():
        holding.touch()  # the test waits for this file, not for a guessed time
        while not go.exists():  # wait, holding the run folder, until the test says go
            time.sleep(0.02)

    def loss_fn(m, batch):
        if not m.training and slow_eval:
            marker.touch()
            time.sleep(slow_eval)
        if not m.training and hold_eval:
            hold()
        if m.training:
            if len(steps) >= hold_after >= 0:
                hold()
            steps.append(1)
        return lm_loss(m, batch)

    settings = TrainConfig(steps=STEPS, batch_size=8, lr=3e-3, eval_every=EVAL_EVERY, device="cpu",
                           progress=False, seed=3)
    trainer = Trainer(model, settings, train_set, val_set=val_set, collate=slow_collate, loss_fn=loss_fn,
                      out=out, checkpoint={"model_type": "transformer-lm", "config": config,
                                           "tokenizer": tok, "task": "test"})
    result = trainer.fit(resume=resume)
    marker.unlink(missing_ok=True)
    return {k: v for k, v in result.items() if k != "history"}


# ---------------------------------------------------------------- crash injection

_OPS = {"n": 0, "crash_at": None, "log": None}


def _op(name: str, detail: str = "") -> bool:
    """Count one file operation; True when this is the one to crash at."""
    _OPS["n"] += 1
    if _OPS["log"] is not None:
        _OPS["log"].append(f"{_OPS['n']} {name} {Path(detail).name if detail else ''}")
    return _OPS["n"] == _OPS["crash_at"]


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _File:
    """A file whose writes count as operations; the crashing write writes half its data."""

    def __init__(self, f, name):
        self._f, self._name = f, name

    def write(self, data):
        if _op("write", self._name):
            self._f.write(data[: len(data) // 2])
            self._f.flush()
            _die()
        return self._f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self._f, name)


def _instrument() -> None:
    """Count (and crash at) every file operation that saving a run does."""
    real_open, real_fdopen = builtins.open, os.fdopen

    def wrap_call(module, name):
        real = getattr(module, name)

        def call(*args, **kwargs):
            if _op(name, str(args[0]) if args and isinstance(args[0], (str, os.PathLike)) else ""):
                _die()
            return real(*args, **kwargs)

        setattr(module, name, call)

    for name in ("replace", "unlink", "fsync", "chmod", "mkdir", "ftruncate"):
        wrap_call(os, name)
    wrap_call(tempfile, "mkstemp")

    def open_(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if any(c in mode for c in "wax+") and str(file).endswith(("metrics.jsonl",)):
            if _op("open", str(file)):
                _die()
            return _File(f, str(file))
        return f

    def fdopen(fd, mode="r", *args, **kwargs):
        f = real_fdopen(fd, mode, *args, **kwargs)
        return _File(f, "tmp") if "w" in mode else f

    builtins.open, os.fdopen = open_, fdopen


def _child(fn) -> int:
    """Run ``fn`` in a forked process; its exit status (negative: killed by that signal)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        except BaseException as exc:  # noqa: BLE001 - report and leave
            print(f"child failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _final_state(out: Path) -> dict:
    """What must equal between runs: every tensor of last.json (weights and optimizer state),
    the counters, and the metrics rows without their wall-clock time."""
    from safetensors.torch import load_file

    meta = json.loads((out / "last.json").read_text())
    tensors = {f"w.{k}": v for k, v in load_file(out / meta["weights"]).items()}
    tensors.update({f"s.{k}": v for k, v in load_file(out / meta["train_state"]).items()})
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    for r in rows:
        r.pop("time", None)
        r.pop("train_loss", None)  # a redone evaluation has no training window to report
        r.pop("train_acc", None)
    trainer = {k: meta["trainer"][k] for k in ("step", "epoch", "batch_in_epoch", "best_val", "bad_evals")}
    return {"tensors": tensors, "rows": rows, "trainer": trainer}


def _same(a: dict, b: dict) -> str:
    import torch

    if a["trainer"] != b["trainer"]:
        return f"trainer state {a['trainer']} != {b['trainer']}"
    if a["rows"] != b["rows"]:
        return f"metrics rows differ: {len(a['rows'])} vs {len(b['rows'])}"
    if set(a["tensors"]) != set(b["tensors"]):
        return "different tensors"
    for k, v in a["tensors"].items():
        if not torch.equal(v, b["tensors"][k]):
            return f"{k} differs by {(v.double() - b['tensors'][k].double()).abs().max().item():.3g}"
    return ""


def _warm_up() -> None:
    """Import (but do not run) what a run needs, once, before forking: each child then starts
    at once."""
    import importlib

    for name in ("torch._dynamo", "torch.optim", "safetensors.torch", "rich.progress", "seqkit.train.trainer",
                 "seqkit.io.checkpoints", "seqkit.models.transformer", "seqkit.tokenizers", "seqkit.io.locks"):
        importlib.import_module(name)


def crash_suite(work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    _warm_up()
    ref = work / "reference"
    assert _child(lambda: train(ref)) == 0, "the uninterrupted run failed"

    log_file = work / "ops.txt"

    def count():
        _OPS["log"] = []
        _instrument()
        from seqkit.train import trainer as training

        real = training.Trainer._evaluate_and_save

        def marked(self, *args, **kwargs):  # where each evaluation-and-save starts and ends
            _OPS["log"].append(f"{_OPS['n']} begin-save step={self.step}")
            try:
                return real(self, *args, **kwargs)
            finally:
                _OPS["log"].append(f"{_OPS['n']} end-save step={self.step}")

        training.Trainer._evaluate_and_save = marked
        train(work / "count")
        log_file.write_text("\n".join(_OPS["log"]) + "\n")

    assert _child(count) == 0, "the counting run failed"
    lines = log_file.read_text().splitlines()
    begin = next(int(x.split()[0]) for x in lines if x.endswith(f"begin-save step={2 * EVAL_EVERY}"))
    end = next(int(x.split()[0]) for x in lines if x.endswith(f"end-save step={2 * EVAL_EVERY}"))
    names = {int(x.split()[0]): " ".join(x.split()[1:]) for x in lines if "save step" not in x}
    points = list(range(begin + 1, end + 1))
    reference = _final_state(ref)
    failures, killed = [], 0
    for k in points:
        out = work / f"crash-{k}"

        def crash(k=k, out=out):
            _OPS["crash_at"] = k
            _instrument()
            train(out)

        if _child(crash) == -signal.SIGKILL:
            killed += 1
        else:
            failures.append(f"op {k} ({names.get(k)}): the run was not killed there")
            continue
        result_file = work / f"result-{k}.txt"

        def resume(out=out, result_file=result_file):
            train(out, resume=True)
            result_file.write_text(_same(_final_state(out), reference))

        if _child(resume) != 0:
            failures.append(f"op {k} ({names.get(k)}): --resume failed")
        elif result_file.read_text():
            failures.append(f"op {k} ({names.get(k)}): {result_file.read_text()}")
    return {"crash_points": len(points), "killed": killed, "ops": [names[k] for k in points],
            "failures": failures}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("run", "crash-suite"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--slow-eval", type=float, default=0.0)
    parser.add_argument("--hold-after", type=int, default=-1,
                        help="after this many batches, wait until the file OUT.go exists")
    parser.add_argument("--hold-eval", action="store_true",
                        help="in the first evaluation batch, wait until the file OUT.go exists")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parent))
    from seqkit import SeqkitError
    from seqkit.train import trainer as training

    training.Trainer.plot = lambda self: None  # loss.png costs a second or two and is not tested here

    try:
        if args.mode == "run":
            result = train(args.path, args.resume, args.hidden, args.slow, args.slow_eval, args.hold_after,
                           args.hold_eval)
        else:
            result = crash_suite(args.path)
    except SeqkitError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
