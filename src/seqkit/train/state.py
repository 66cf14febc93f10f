"""The Trainer's state (:class:`TrainState`: its counters, best score and history, one object the
Trainer holds), what a run folder keeps of a run beyond its weights (the optimizer, the RNG, the
stream memories and the state in ``last.json``: ``Trainer.save``), and a resume from it
(``Trainer.fit(resume=True)``), kept apart from the training loop."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from seqkit.progress import info


def _count(state: dict, key: str) -> int:
    value = state.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} is {value!r}, not a count")
    return value


@dataclass
class TrainState:
    """Where a run stands: what ``last.json`` keeps (``trainer``) and a resume restores."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_val: float = math.inf  # the best score so far: validation loss, or training loss without validation
    best_acc: float | None = None
    best_on: str = "val"  # "train" when there is no validation data to score
    bad_evals: int = 0  # evaluations in a row without improvement
    eval_due: bool = False  # an evaluation was due when the run stopped: resume does it first
    history: list[dict] = field(default_factory=list)  # the rows of metrics.jsonl

    @staticmethod
    def view(name: str) -> property:
        """``Trainer.NAME``: a read-write view of ``trainer.state.NAME``."""
        return property(lambda self: getattr(self.state, name),
                        lambda self, value: setattr(self.state, name, value),
                        doc=f"``self.state.{name}``")

    def to_dict(self, config, world: int) -> dict:
        """What ``last.json``'s ``trainer`` holds (the history lives in ``metrics.jsonl``)."""
        return {
            "step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
            "best_val": self.best_val if math.isfinite(self.best_val) else None,
            "best_acc": self.best_acc, "best_on": self.best_on, "bad_evals": self.bad_evals,
            "train_config": asdict(config), "world_size": world,
            "eval_due": self.eval_due,
        }

    @classmethod
    def from_dict(cls, state: dict, history: list[dict] | None = None) -> TrainState:
        """The state ``to_dict`` wrote; ``ValueError`` where a counter is not one."""
        best = state.get("best_val")
        best_on = state.get("best_on", "val")
        if best_on not in ("val", "train"):
            raise ValueError(f"best_on is {best_on!r}")
        return cls(step=_count(state, "step"), epoch=_count(state, "epoch"),
                   batch_in_epoch=_count(state, "batch_in_epoch"), bad_evals=_count(state, "bad_evals"),
                   best_val=math.inf if best is None else float(best), best_acc=state.get("best_acc"),
                   best_on=best_on, eval_due=bool(state.get("eval_due", False)), history=history or [])


def save_run(trainer, path: Path | None = None, with_state: bool = True) -> Path | None:
    """``Trainer.save``: the model, and with ``with_state`` what resume needs. Under DDP the
    other ranks each write their own streams, data and RNG state (``last.rankN.safetensors``)."""
    if not trainer.is_main:
        if with_state and (path is None or Path(path) == trainer.last_path):
            save_rank_state(trainer)
        return None
    from seqkit.io.checkpoints import save_checkpoint

    info_ = trainer.checkpoint_info
    best = trainer.best_val if math.isfinite(trainer.best_val) else None
    metrics = {f"{trainer.best_on}_loss": best, f"{trainer.best_on}_acc": trainer.best_acc, "steps": trainer.step}
    train_state = None
    if with_state:
        train_state = {"optimizer": trainer.optimizer.state_dict(), "torch_rng": torch.get_rng_state()}
        train_state.update(_own_state(trainer, with_rng=False))  # rank 0's; each other rank keeps its own
    return save_checkpoint(
        path or trainer.last_path, trainer.raw_model,
        model_type=info_.get("model_type", type(trainer.raw_model).__name__),
        config=info_.get("config", getattr(trainer.raw_model, "config", {})),
        tokenizer=info_.get("tokenizer"), task=info_.get("task", ""),
        data=info_.get("data"), extra=info_.get("extra"),
        metrics={**(info_.get("metrics") or {}), **{k: v for k, v in metrics.items() if v is not None}},
        train_state=train_state, trainer=trainer.state.to_dict(trainer.config, trainer.world) if with_state else None,
    )


def resume_run(trainer) -> bool:
    """Load ``out/last.json`` into the trainer; ``False`` where there is none."""
    from seqkit.errors import CheckpointError
    from seqkit.io.checkpoints import load_checkpoint, read_meta

    if not trainer.last_path.exists():
        return False
    meta = read_meta(trainer.last_path)
    ckpt = load_checkpoint(trainer.last_path, device="cpu", with_train_state=True)
    _check_fits(trainer, ckpt.model.state_dict())
    try:
        state = meta.get("trainer")
        if not isinstance(state, dict):
            raise TypeError(f"'trainer' is {type(state).__name__}, not an object")
        resumed = TrainState.from_dict(state)
        saved = ckpt.train_state or {}
        if not isinstance(saved, dict):
            raise TypeError("the training state is not an object")
        _check_counters(resumed, saved.get("optimizer"))
        trainer.raw_model.load_state_dict(ckpt.model.state_dict())
        if ckpt.train_state:
            trainer.optimizer.load_state_dict(ckpt.train_state["optimizer"])
            torch.set_rng_state(ckpt.train_state["torch_rng"])
        own = _resumed_own_state(trainer, saved, state, resumed.step)
        if "torch_rng" in own:
            torch.set_rng_state(own["torch_rng"])
        if trainer.memories is not None:
            _resume_memories(trainer, own.get("streams"), state)
        load_data_state(trainer.train_set, own.get("data"))
    except (TypeError, ValueError, KeyError, IndexError, RuntimeError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"cannot resume from {trainer.last_path}: its training state is "
                              f"damaged ({type(exc).__name__}: {detail})") from None
    from seqkit.train.run_folder import keep_metrics

    resumed.history = keep_metrics(trainer.out, resumed.step, write=trainer.is_main)
    trainer.state = resumed
    return True


def data_state(dataset):
    """The random state of a training set that draws its items (``state_dict()``, e.g. a
    generator's state or a count of draws), or None."""
    own = getattr(dataset, "state_dict", None)
    return own() if callable(own) else None


def load_data_state(dataset, state) -> None:
    """Give a training set back the random state ``data_state`` saved (``load_state_dict``)."""
    load = getattr(dataset, "load_state_dict", None)
    if state is not None and callable(load):
        load(state)


def _check_counters(state: TrainState, optimizer: dict | None) -> None:
    """The counters of ``last.json`` must agree with each other, and the step with the optimizer's
    own step count (each training step of the run is one optimizer step), or the file is damaged."""
    step, epoch, batch_in_epoch, bad_evals = state.step, state.epoch, state.batch_in_epoch, state.bad_evals
    if epoch > step or batch_in_epoch > step or bad_evals > step + 1:
        raise ValueError(f"epoch {epoch}, batch {batch_in_epoch} and {bad_evals} evaluations "
                         f"without improvement do not fit step {step}")
    steps = set()
    held = optimizer.get("state") if isinstance(optimizer, dict) else None
    for param_state in (held if isinstance(held, dict) else {}).values():
        if isinstance(param_state, dict) and "step" in param_state:
            steps.add(int(param_state["step"]))
    if steps and step > max(steps):
        raise ValueError(f"step is {step} but the optimizer took {max(steps)} steps")
    if not steps and step > MAX_STEPS:  # an optimizer without a step count (SGD): a plain bound
        raise ValueError(f"step is {step}, more than any run takes")


MAX_STEPS = 10**10


def _own_state(trainer, with_rng: bool = True) -> dict:
    """What each rank keeps of its own: its stream memories, its training set's random state and
    (``with_rng``) its torch RNG state."""
    own = {"torch_rng": torch.get_rng_state()} if with_rng else {}
    if trainer.memories is not None:
        own["streams"] = trainer.memories.state()
    data = data_state(trainer.train_set)
    if data is not None:
        own["data"] = data
    return own


def rank_state_path(out: Path, rank: int) -> Path:
    return Path(out) / f"last.rank{rank}.safetensors"


def save_rank_state(trainer) -> None:
    """A rank other than 0: its own state, written atomically, with the step and world size it
    belongs to (a resume uses it only when they match ``last.json``'s)."""
    import json

    from safetensors.torch import save

    from seqkit.io.checkpoints import atomic_write_bytes, flatten_state

    layout, tensors = flatten_state(_own_state(trainer))
    meta = {"layout": json.dumps(layout), "step": str(trainer.step), "world": str(trainer.world)}
    atomic_write_bytes(rank_state_path(trainer.out, trainer.rank), save(tensors, metadata=meta))


def _load_rank_state(trainer, step: int) -> dict | None:
    """This rank's own state saved at ``step`` by a run of this world size, or None."""
    import json

    from safetensors import SafetensorError, safe_open

    from seqkit.io.checkpoints import unflatten_state

    path = rank_state_path(trainer.out, trainer.rank)
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            if meta.get("step") != str(step) or meta.get("world") != str(trainer.world):
                return None  # a save that a crash left behind last.json, or another run's
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except FileNotFoundError:
        return None
    except (OSError, SafetensorError) as exc:
        raise ValueError(f"{path.name} is unreadable ({exc})") from None
    return unflatten_state(json.loads(meta["layout"]), tensors)


def _resumed_own_state(trainer, saved: dict, state: dict, step: int) -> dict:
    """The streams, data and RNG state this rank resumes with: rank 0's are in ``last.json``,
    the others' in their own files; none when the world size changed."""
    if _count(state, "world_size") not in (0, trainer.world):
        if trainer.is_main and ("streams" in saved or "data" in saved):
            info(f"resuming a run of {state['world_size']} process(es) on {trainer.world}: the stream "
                 f"memories and the data's random state start afresh")
        return {}
    if trainer.is_main:
        return saved
    return _load_rank_state(trainer, step) or {}


def _resume_memories(trainer, saved: dict | None, state: dict) -> None:
    """The stream memories of the run resumed (none saved for this rank: its streams then read
    on from empty memories)."""
    if saved is not None:
        trainer.memories.load(saved, trainer.device)
    elif _count(state, "batch_in_epoch"):
        who = f"rank {trainer.rank}: " if trainer.world > 1 else ""
        info(f"{who}the memories of the streams were not saved: they start empty")


def _check_fits(trainer, saved: dict) -> None:
    """Refuse to resume from a checkpoint made with different model settings."""
    from seqkit.train.run_folder import check_fits

    check_fits(trainer.raw_model.state_dict(), saved, trainer.out)

