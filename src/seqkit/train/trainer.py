"""The Trainer: one loop for every seqkit model.

Batched, padded-and-masked training through a ``loss_fn(model, batch) -> (loss, n_tokens,
n_correct)``; AdamW/Adam/RMSprop/Adagrad/SGD; gradient clipping; linear warmup then cosine or linear
decay; evaluation (loss and token accuracy) every epoch or every N steps; early stopping; bf16
autocast on CUDA; optional ``torch.compile``; DistributedDataParallel when started by ``torchrun``;
a rich progress bar with the live loss; Ctrl-C saves and stops; ``fit(resume=True)`` continues from
``out/last.json`` at the exact batch it stopped at. Every evaluation appends to
``out/metrics.jsonl`` and redraws ``out/loss.png``.

Batches are shuffled indices into the training set (each rank its share), unless the set orders
its own: a ``train_set.batches(epoch=, batch_size=, seed=, rank=, world=)`` method returning one
epoch's list of index lists for this rank is used as is (e.g. contiguous streams, where row ``b``
of each batch continues row ``b`` of the previous one). A set of streams (``stream_groups``) and
a model that carries memory train on streams: the Trainer carries the memories (``streaming.py``).

The pieces live in their own modules, re-exported here: ``TrainConfig`` (``train_config``), the
loss functions (``losses``), the run folder and ``metrics.jsonl`` (``run_folder``), batch order and
learning rate (``train_batches``), torchrun (``distributed``), signals (``train_signals``),
streams (``streaming``) and what ``last.json`` keeps for a resume (``state``: ``TrainState``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from seqkit.errors import SeqkitError
from seqkit.progress import info
from seqkit.train.batches import count_batches, epoch_batches, learning_rate
from seqkit.train.config import TrainConfig, make_optimizer
from seqkit.train.distributed import world_and_rank as _world_and_rank
from seqkit.train.losses import lm_loss, seq2seq_loss
from seqkit.train.run_folder import check_run_folder
from seqkit.train.signals import signal_name as _signal_name
from seqkit.train.state import TrainState, resume_run, save_run

__all__ = ["TrainConfig", "Trainer", "check_run_folder", "lm_loss", "seq2seq_loss"]


def _to(batch, device):
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to(v, device) for v in batch)
    return batch


def default_collate(items):
    return torch.utils.data.default_collate(items)


class Trainer:
    def __init__(self, model, config: TrainConfig, train_set, val_set=None,
                 collate: Callable | None = None, loss_fn: Callable = lm_loss,
                 out: str | Path = "run", checkpoint: dict[str, Any] | None = None,
                 on_eval: Callable[[dict], None] | None = None,
                 evaluator: Callable[[Any], dict] | None = None):
        self.config = config
        self.on_eval = on_eval  # called with each evaluation's row (main process only)
        # evaluator(model) -> {"loss", "acc", "tokens"}: scores the validation data itself (e.g.
        # a model that carries memories, read piece by piece); replaces the scoring of val_set
        self.evaluator = evaluator
        self.train_set, self.val_set = train_set, val_set
        self._per_epoch = None  # batches_per_epoch(), computed once
        self.collate = collate or default_collate
        self.loss_fn = loss_fn
        self.out = Path(out)
        self.checkpoint_info = dict(checkpoint or {})
        self._made_group = False
        self.world, self.rank = _world_and_rank()
        self.is_main = self.rank == 0
        from seqkit.train.streaming import stream_memories

        # a model that carries memory, on a set of streams: the memories each step reads on from
        self.memories = stream_memories(model, train_set, config)  # checked before any process group
        if self.world > 1:
            from seqkit.train.distributed import init_distributed

            self.device, self._made_group = init_distributed()  # ended when fit() returns
        else:
            from seqkit.device import pick_device

            self.device = pick_device(config.device)
        if len(train_set) == 0:
            raise SeqkitError("the training set is empty")
        self.raw_model = model.to(self.device)
        self.model = self.raw_model
        if config.compile:
            self.model = torch.compile(self.model)
        self._unwrapped = self.model  # the (compiled) model without its DDP wrapper
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DDP(self.model, device_ids=ids)
        params = [p for p in self.raw_model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(params, config)
        self.use_bf16 = config.bf16 and self.device.type == "cuda"
        self.state = TrainState()  # the counters, the best score and the history: what a resume restores
        self._stop: int | None = None  # the signal that asked training to stop
        self._last_plot = 0.0
        self.last_path = self.out / "last.json"
        self.best_path = self.out / "best.json"

    # ------------------------------------------------------------------ batches

    def batches_per_epoch(self) -> int:
        if self._per_epoch is None:  # once: lr_at asks every step, and an own order is a long list
            self._per_epoch = count_batches(self.train_set, self.config, self.world)
        return self._per_epoch

    def total_steps(self) -> int:
        c = self.config
        by_epochs = c.epochs * self.batches_per_epoch() if c.epochs else None
        return min(x for x in (by_epochs, c.steps) if x)

    def _epoch_batches(self, epoch: int) -> list[list[int]]:
        return epoch_batches(self.train_set, self.config, epoch, self.rank, self.world)

    def _loader(self, dataset, batches):
        return torch.utils.data.DataLoader(
            dataset, batch_sampler=batches, collate_fn=self.collate,
            num_workers=self.config.num_workers, pin_memory=self.device.type == "cuda",
            # its own generator: making an iterator must not draw from the global random stream
            # (dropout's), or a resumed run would differ from an uninterrupted one
            generator=torch.Generator().manual_seed(self.config.seed),
        )

    def lr_at(self, step: int) -> float:
        return learning_rate(self.config, step, self.total_steps())

    def _autocast(self):
        if self.use_bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ state (train/state.py)

    step = TrainState.view("step")
    epoch = TrainState.view("epoch")
    batch_in_epoch = TrainState.view("batch_in_epoch")
    best_val = TrainState.view("best_val")
    best_acc = TrainState.view("best_acc")
    best_on = TrainState.view("best_on")
    bad_evals = TrainState.view("bad_evals")
    eval_due = TrainState.view("eval_due")
    history = TrainState.view("history")

    def save(self, path: Path | None = None, with_state: bool = True) -> Path | None:
        """Write the model to ``path`` (default ``out/last.json``); with ``with_state`` also the
        optimizer, the RNG, the stream memories and the counters that resume needs. Only the
        main process writes; it returns the path (``None`` elsewhere)."""
        return save_run(self, path, with_state)

    def _resume(self) -> bool:
        return resume_run(self)

    # ------------------------------------------------------------------ evaluation

    @torch.no_grad()
    def evaluate(self, dataset=None) -> dict:
        """Token-weighted loss and accuracy over a dataset (the validation set by default).

        With an ``evaluator`` and no ``dataset``, ``evaluator(model)`` scores instead: it is
        called on every process with the unwrapped model in eval mode, under the Trainer's
        autocast and ``no_grad``, and must return the same result on each (it sees all of its
        data, so that early stopping agrees across processes)."""
        if dataset is None and self.evaluator is not None:
            self.raw_model.eval()
            try:
                with self._autocast():
                    res = self.evaluator(self.raw_model)
            finally:
                self.model.train()
            return dict(res) if res else {}
        dataset = dataset if dataset is not None else self.val_set
        if dataset is None or len(dataset) == 0:
            return {}
        self.model.eval()
        idx = list(range(len(dataset)))
        if self.world > 1:
            idx = idx[self.rank :: self.world]
        b = self.config.batch_size
        batches = [idx[i : i + b] for i in range(0, len(idx), b)]
        if self.config.max_eval_batches:
            batches = batches[: self.config.max_eval_batches]
        tot = torch.zeros(3, dtype=torch.float64, device=self.device)
        for batch in self._loader(dataset, batches):
            if self.world == 1:
                self._check_stop()  # a signal came: stop now (resume redoes this evaluation)
            batch = _to(batch, self.device)
            with self._autocast():
                loss, n, correct = self.loss_fn(self.model, batch)
            n = torch.as_tensor(n, device=self.device, dtype=torch.float64)
            tot += torch.stack([loss.detach().double() * n, n, torch.as_tensor(correct, device=self.device).double()])
        if self.world > 1:
            from seqkit.train.distributed import all_reduce

            all_reduce(tot)
        self.model.train()
        loss_sum, n, correct = tot.tolist()
        if n == 0:
            return {}
        return {"loss": loss_sum / n, "acc": correct / n, "tokens": int(n)}

    # ------------------------------------------------------------------ the loop

    def fit(self, resume: bool = False) -> dict:
        """Train; with ``resume``, continue the run in ``out`` where its ``last.json`` stopped.

        The main process holds a lock on ``out`` meanwhile: a second run (or a resume) on the same
        folder is refused at once. Ctrl-C, SIGTERM and SIGHUP stop training at the end of the
        current step (or evaluation batch), save ``last.json`` and return with ``interrupted``.
        A worker restarted by torchrun's elastic agent (``--max-restarts``) resumes by itself."""
        if self.world > 1 and self.model is self._unwrapped:
            raise SeqkitError("a distributed Trainer trains once (fit() ended its process group); "
                              "make a new Trainer to train again")
        from seqkit.train.distributed import elastic_resume

        resume = elastic_resume(self.out, resume)  # restarted by torchrun's elastic agent: resume
        if not self.is_main:
            return self._fit(resume)
        from seqkit.io.locks import run_lock

        check_run_folder(self.out, resume)  # a clear message before anything is created
        if self.config.tensorboard:
            from seqkit.train.tensorboard import check_available

            check_available()
        with run_lock(self.out):
            check_run_folder(self.out, resume)  # again: another run may have finished meanwhile
            return self._fit(resume)

    def _start(self, resume: bool) -> None:
        """Load the run to resume, or clear what a run that never saved left behind."""
        resumed = resume and self._resume()
        if not self.is_main:
            return
        if resume:
            info(f"resuming {self.last_path} at step {self.step} (epoch {self.epoch + 1})" if resumed
                 else f"nothing to resume in {self.out}; starting fresh")
        from seqkit.train.run_folder import clean_run_folder

        clean_run_folder(self.out, resumed)

    def _on_signal(self, signum: int) -> None:  # only a flag: the loop stops at its next safe point
        self._stop = signum

    def _check_stop(self) -> None:
        if self._stop is not None:
            raise KeyboardInterrupt

    def _fit(self, resume: bool) -> dict:
        from seqkit.train.signals import stop_on_signals

        self._stop = None
        with stop_on_signals(self._on_signal):  # from loading to the last save: a signal only sets a flag
            return self._fit_shielded(resume)

    def _fit_shielded(self, resume: bool) -> dict:
        c = self.config
        torch.manual_seed(c.seed + self.rank)
        self._start(resume)
        total = self.total_steps()
        eval_every = c.eval_every
        if not eval_every and not c.epochs:  # step-based run: evaluate about 10 times
            eval_every = max(1, total // 10)
        result = {"interrupted": False, "stopped_early": False}
        window = torch.zeros(3, dtype=torch.float64, device=self.device)
        t0 = time.time()
        self.model.train()
        from seqkit.progress import progress_bar

        bar = progress_bar(disable=not (c.progress and self.is_main))
        try:
            with bar:
                self._train(bar, total, eval_every, window, t0, result)
        except KeyboardInterrupt:
            result["interrupted"] = True
            self.save()
            if self.is_main:
                by = f" by {_signal_name(self._stop)}" if self._stop is not None else ""
                info(f"interrupted{by} at step {self.step}; saved {self.last_path} (continue with --resume)")
        if self.is_main:
            if not self.best_path.exists():
                self.save(self.best_path, with_state=False)
            if self.history:
                self.plot()
        best = self.best_val if math.isfinite(self.best_val) else None
        if self.best_on == "train":  # no validation data: the best checkpoint is chosen by training loss
            result.update(best_train_loss=best, best_train_acc=self.best_acc)
            best = None
        result.update(best_val_loss=best, best_val_acc=self.best_acc if best is not None else None,
                      steps=self.step, epochs=self.epoch, history=self.history, seconds=time.time() - t0, best_path=str(self.best_path),
                      last_path=str(self.last_path))
        self._end_distributed(synchronise=not result["interrupted"])
        if getattr(self, "_tb", None) is not None:
            self._tb.close()
            self._tb = None
        return result

    def _tensorboard(self, row: dict) -> None:
        """``row`` as TensorBoard scalars too, when the config asks (see :mod:`seqkit.train.tensorboard`)."""
        if not self.config.tensorboard:
            return
        if getattr(self, "_tb", None) is None:
            from seqkit.train.tensorboard import TensorBoardSink

            self._tb = TensorBoardSink(self.out / "tensorboard")
        self._tb.write(row)

    def _train(self, bar, total: int, eval_every: int, window, t0: float, result: dict) -> None:
        """Epochs of steps until ``total`` steps, the epochs asked for, early stopping or a signal."""
        c = self.config
        task = bar.add_task("training", total=total, completed=self.step)
        if self.eval_due:  # the run stopped during an evaluation: do it first
            if self._evaluate_and_save(window, self.lr_at(max(0, self.step - 1)), t0, result):
                return
        while self.step < total and (not c.epochs or self.epoch < c.epochs):
            if self._train_epoch(bar, task, total, eval_every, window, t0, result):
                break
        if window[1] > 0 and not result["stopped_early"]:
            self._evaluate_and_save(window, self.lr_at(max(0, self.step - 1)), t0, result)
        self.save()  # the final position (epoch counters included)

    def _train_epoch(self, bar, task, total: int, eval_every: int, window, t0: float, result: dict) -> bool:
        """The rest of the current epoch; True when training ends within it."""
        batches = self._epoch_batches(self.epoch)[self.batch_in_epoch :]
        lr = self.lr_at(self.step)
        for batch in self._loader(self.train_set, batches):
            lr = self._train_step(batch, window)
            if self.step % 10 == 0 or self.step == total:  # one host sync per 10 steps
                w = window.tolist()
                if not math.isfinite(w[0]):
                    raise SeqkitError(f"the loss became {w[0]} by step {self.step}; try a lower --lr")
                bar.update(task, completed=self.step,
                           description=f"epoch {self.epoch + 1} loss {w[0] / max(w[1], 1):.3f}")
            if eval_every and self.step % eval_every == 0:
                if self._evaluate_and_save(window, lr, t0, result):
                    return True
                window.zero_()
            elif self.config.save_every and self.step % self.config.save_every == 0:
                self.save()
            self._check_stop()  # a signal came: stop here, between steps
            if self.step >= total:
                if self.batch_in_epoch >= self.batches_per_epoch():
                    self.epoch += 1
                    self.batch_in_epoch = 0
                return True
        self.epoch += 1
        self.batch_in_epoch = 0
        if not eval_every:
            if self._evaluate_and_save(window, lr, t0, result):
                return True
            window.zero_()
        return False

    def _train_step(self, batch, window) -> float:
        """One optimizer step on ``batch`` (on streams: read on from its group's memory); adds
        its loss to ``window`` and returns the learning rate it used."""
        c = self.config
        lr = self.lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        batch = _to(batch, self.device)
        model = self.model
        if self.memories is not None:
            rows = len(next(iter(batch.values()))) if isinstance(batch, dict) else c.batch_size
            model = self.memories.reading(self.model, self.batch_in_epoch, self.step, rows, self.device)
        with self._autocast():
            loss, n, correct = self.loss_fn(model, batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.raw_model.parameters(), c.grad_clip)
        self.optimizer.step()
        if self.memories is not None:
            self.memories.commit(model, self.batch_in_epoch)
        self.step += 1
        self.batch_in_epoch += 1
        n_t = torch.as_tensor(n, device=self.device, dtype=torch.float64)
        window += torch.stack([loss.detach().double() * n_t, n_t,
                               torch.as_tensor(correct, device=self.device).double()])
        return lr

    def _end_distributed(self, synchronise: bool = True):
        """Free the DDP wrapper and end the process group this Trainer started.

        A DDP module that outlives its process group into interpreter exit makes torch abort
        ("terminate called without an active exception") in about one run in ten, so torchrun
        reports a failed run although training finished. A group the caller started is theirs.
        After Ctrl-C the other ranks may not be at the same point, so no barrier then."""
        if self.world <= 1 or self.model is self._unwrapped:
            return
        import gc

        from seqkit.train.distributed import end_process_group

        self.model = self._unwrapped
        gc.collect()
        if synchronise and self._made_group:
            end_process_group()
            self._made_group = False

    def plot(self) -> None:
        """Redraw ``out/loss.png`` from the history so far."""
        if self._last_plot == math.inf:  # no matplotlib: said once
            return
        self._last_plot = time.time()
        try:
            from seqkit.train.plotting import plot_loss_curve

            title = f"{self.checkpoint_info.get('task', '')} {self.checkpoint_info.get('model_type', '')}"
            plot_loss_curve(self.history, self.out / "loss.png", title=title.strip() or "loss")
        except SeqkitError as exc:  # matplotlib is not installed: the run goes on without loss.png
            self._last_plot = math.inf
            info(f"no loss curve: {exc}")
        except Exception as exc:  # a plot must never kill a training run
            info(f"could not draw the loss curve: {exc}")

    def _evaluate_and_save(self, window, lr, t0, result) -> bool:
        """Evaluate, log, checkpoint; returns True when early stopping says stop."""
        w = window.tolist()
        row = {"event": "eval", "step": self.step, "epoch": self.epoch, "lr": lr,
               "train_loss": w[0] / w[1] if w[1] else None,
               "train_acc": w[2] / w[1] if w[1] else None, "time": round(time.time() - t0, 2)}
        self.eval_due = True  # until its row is written: a run stopped meanwhile redoes it on resume
        val = self.evaluate()
        if val:
            row.update(val_loss=val["loss"], val_acc=val["acc"])
        self.history.append(row)
        self.eval_due = False
        score = row.get("val_loss", row.get("train_loss"))
        improved = score is not None and score < self.best_val
        if improved:
            self.best_val = score
            self.best_acc = row.get("val_acc", row.get("train_acc"))
            self.best_on = "val" if "val_loss" in row else "train"
            self.bad_evals = 0
        else:
            self.bad_evals += 1
        if self.is_main:
            from seqkit.train.run_folder import append_metrics

            append_metrics(self.out, row)  # before last.json: resume drops rows it does not cover
            self._tensorboard(row)
            if self.on_eval is not None:
                self.on_eval(row)
            if improved:
                self.save(self.best_path, with_state=False)
            self.save()
            if time.time() - self._last_plot > 30:  # redrawing costs ~0.3 s: not at every evaluation
                self.plot()
        else:
            self.save()  # the other ranks keep their own streams, data and RNG state
        if self.config.patience and self.bad_evals >= self.config.patience:
            result["stopped_early"] = True
            if self.is_main:
                info(f"early stopping at step {self.step}: no improvement in {self.config.patience} evaluations")
            return True
        return False
