"""The ``train`` command kit: a plugin says what is its own (its data, its architectures, its
options), core does the rest once for every task.

A plugin declares a :class:`TrainRecipe` and gets a whole ``train`` command from
:func:`train_command`: ``--arch``, ``--data``, ``--out`` (the run folder), ``--save NAME`` (the
export), ``--resume``, ``--init``, ``--device``, ``--threads``, ``--seed``, ``--steps``,
``--epochs``, ``--batch-size``, ``--lr``, ``--config FILE.toml``, ``--set key=value``,
``--print-config`` and ``--json``, checked before any data is read; the run-folder check, the
thread policy, the Trainer, the export rule (nothing exported before a validation; Ctrl-C keeps
the best validated model and says so) and the summary.

Plain Python at import (no torch).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqkit.errors import SeqkitError
from seqkit.generation.generator import Param


@dataclass
class Arch:
    """An architecture ``--arch`` can name: a registered model type, its default settings and,
    where it trains best otherwise, its own training defaults (``{"lr": 3e-3}``)."""

    model_type: str
    config: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)


@dataclass
class Architecture:
    """An architecture a plugin offers to every task that can train it (``register_architectures``,
    since hookspec 1.3), so that no task names it.

    ``model_type`` is a registered model type; ``config`` and ``train`` its CPU-sized default
    model and training settings; ``data`` what it learns from: ``"tokens"``, a token LM over any
    tokenizer (batches of ``input``/``target`` ids, ``cond`` where the task conditions); ``memory``
    whether it carries memories from one window to the next (seqkit's memory protocol,
    docs/compressive.md), so that a task may train it on streams; ``tuned`` maps a task's name to
    an :class:`Arch` whose settings replace the defaults for that task's data (the owner's tuning)."""

    name: str
    model_type: str
    config: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    data: str = "tokens"
    memory: bool = False
    tuned: dict[str, Arch] = field(default_factory=dict)
    description: str = ""
    plugin: str = ""

    def arch_for(self, task: str) -> Arch:
        """The :class:`Arch` this architecture is for ``task``: its tuning there, else its defaults."""
        return self.tuned.get(task) or Arch(self.model_type, dict(self.config), dict(self.train))


@dataclass
class Prepared:
    """What a recipe's ``prepare`` returns: the data, and what the data fixes.

    ``config`` holds the model settings the data decides (``vocab_size``, ``pad_id`` ...);
    ``tokenizer``, ``data`` (a description) and ``extra`` go into the checkpoint; ``collate``,
    ``loss_fn`` and ``evaluator`` go to the :class:`~seqkit.Trainer`; ``metrics(result)`` adds
    numbers to the exported checkpoint and the summary. ``export(result, target, metrics)``, where
    a task exports otherwise (ONNX graphs, its last weights), replaces the default
    ``export_checkpoint(result["best_path"], target, dtype=recipe.export_dtype, metrics=metrics)``
    and returns the saved path; it is called only after a validation, like the default.
    ``on_eval(row)`` is called with each evaluation's row (abc prints one line per epoch);
    ``setup(model)`` runs on the built (or ``--init``) model before training; ``train`` holds the
    :class:`~seqkit.train.TrainConfig` settings the data decides (``memory_reset`` for streams).
    """

    train_set: Any
    val_set: Any = None
    config: dict[str, Any] = field(default_factory=dict)
    tokenizer: Any = None
    data: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    collate: Callable | None = None
    loss_fn: Callable | None = None
    evaluator: Callable | None = None
    metrics: Callable[[dict], dict] | None = None
    export: Callable[[dict, Path, dict], Any] | None = None  # (result, target, metrics) -> the saved path
    on_eval: Callable[[dict], None] | None = None  # called with each evaluation's row (e.g. to print it)
    setup: Callable | None = None  # setup(model): run on the built (or --init) model before training
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig settings the data decides (memory_reset)


class Renamed:
    """Removed in seqkit 0.6 with ``TrainRecipe.deprecated`` (the hidden old ``train`` flags).
    Still importable for this one release so that a recipe written against 0.5 loads: it does
    nothing but say so (a ``DeprecationWarning``). Remove it and the ``deprecated=`` it sat in."""

    def __init__(self, to: str = "", type: str = "", note: str = ""):
        import warnings

        warnings.warn("seqkit.Renamed does nothing since seqkit 0.6 (old train flags are no longer "
                      "offered); remove it and TrainRecipe(deprecated=...)", DeprecationWarning, stacklevel=2)
        self.to, self.type, self.note = to, type, note


@dataclass
class TrainRecipe:
    """A task's training: ``prepare(run) -> Prepared`` (or ``"module:function"``) reads the data
    for a :class:`TrainRun`; ``archs`` are what ``--arch`` chooses from; ``params`` are the task's
    own options (they arrive in ``run.options``); ``train`` holds the task's training defaults;
    ``save_as`` names the export when ``--save`` is not given (default: the architecture; ``{arch}``
    and ``{name}`` of a param in it are filled in, e.g. ``"{arch}-{lang}"``); ``deprecated`` is
    ignored since seqkit 0.6 (its hidden old flags are gone; a recipe that still gives it gets a
    ``DeprecationWarning``: remove it).
    ``model_defaults(arch, options)`` (or ``"module:function"``) returns model settings that the
    task's own options decide (a ``--preset``), applied over the architecture's defaults and under
    ``--config``/``--set``; ``export_dtype`` casts the default export (``"float16"``);
    ``onnx_graphs=True`` (or ``"int8"``: dynamic int8 weights) also writes the export's ONNX graphs
    (``seqkit.onnx.export_onnx``, for inference without torch) where its model type has them (else
    torch serves it); ``offered="tokens"`` adds every :class:`Architecture` other plugins offer for
    that kind of data to ``archs`` (``with_offered``), those the recipe names winning."""

    task: str
    prepare: Any
    archs: dict[str, Arch]
    default_arch: str = ""
    params: list[Param] = field(default_factory=list)
    train: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    save_as: str = ""  # the export's default name (default: the architecture's name)
    deprecated: dict[str, Any] = field(default_factory=dict)  # ignored since 0.6 (a warning): remove it
    model_defaults: Any = None  # (arch, options) -> model settings the task's own options decide
    export_dtype: str | None = None  # e.g. "float16": the export's weights (default: as trained)
    onnx_graphs: bool | str = False  # True or "int8": the export gets its ONNX graphs too (where its type has them)
    offered: str = ""  # "tokens": the architectures other plugins offer for token LMs join archs

    def __post_init__(self):
        if not self.archs:
            raise TypeError(f"TrainRecipe {self.task!r} needs at least one architecture")
        self.default_arch = self.default_arch or next(iter(self.archs))
        if self.deprecated:
            import warnings

            warnings.warn(f"TrainRecipe {self.task!r}: deprecated= is ignored since seqkit 0.6 (old train flags "
                          f"are no longer offered); remove it", DeprecationWarning, stacklevel=3)


def with_offered(recipe: TrainRecipe) -> TrainRecipe:
    """``recipe`` with the architectures other plugins offer for its data (``recipe.offered``)
    added to its ``archs`` (those it names itself come first and win)."""
    if not recipe.offered:
        return recipe
    from seqkit.host.plugins import architectures

    extra = {name: a.arch_for(recipe.task) for name, a in architectures(recipe.offered).items()
             if name not in recipe.archs}
    return dataclasses.replace(recipe, archs={**recipe.archs, **extra}) if extra else recipe


@dataclass
class TrainRun:
    """One run, as ``prepare`` sees it: ``data`` (the ``--data`` path or ``None``), ``arch``, the
    task's own ``options``, the merged ``model`` settings, ``train`` (a dict: the
    :class:`~seqkit.train.TrainConfig` settings the defaults, ``--config``, the flags and ``--set`` gave;
    a setting none of them gave is absent, so read it with ``run.train.get(key, default)``),
    ``seed``; ``model_type`` (the registered model type ``--arch`` names) and
    :attr:`carries_memory`."""

    data: Path | None
    arch: str
    options: dict[str, Any]
    model: dict[str, Any]
    train: dict[str, Any]
    seed: int
    out: Path | None = None  # the run folder (``--resume`` continues the run in it)
    resume: bool = False
    init: str | None = None  # --init: the checkpoint the weights come from
    model_type: str = ""  # the registered model type of --arch

    @property
    def carries_memory(self) -> bool:
        """Whether the architecture being trained carries memory (``seqkit.train.carries_memory`` of its
        model class, see docs/plugins.md "Models that carry memory"): ``prepare`` can then deal
        :class:`~seqkit.train.TokenStreams` and a ``stream_evaluator`` instead of windows."""
        from seqkit.host.plugins import get_model_type
        from seqkit.train.streaming import carries_memory

        return bool(self.model_type) and carries_memory(get_model_type(self.model_type).resolve())


# ---------------------------------------------------------------- settings

def parse_value(text: str):
    """``--set`` values: JSON where it parses (numbers, true/false, null, lists), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


CONFIG_BYTES = 1_000_000  # the largest --config file read
MAX_PARAMETERS = 20_000_000_000  # a model larger than this is a typo here (SEQKIT_MAX_PARAMETERS lifts it)


def read_config_file(path) -> dict:
    """A TOML file with ``[model]`` and ``[train]`` tables (top-level keys go where they fit)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise SeqkitError("--config needs Python 3.11 or `pip install tomli`") from None
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(CONFIG_BYTES + 1)  # bounded: --config /dev/zero must not fill the memory
    except FileNotFoundError:
        raise SeqkitError(f"--config {path} does not exist") from None
    if len(data) > CONFIG_BYTES:
        raise SeqkitError(f"--config {path} is larger than {CONFIG_BYTES // 1000} kB; a config is a few lines of TOML")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SeqkitError(f"--config {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise SeqkitError(f"--config {path} is not valid TOML: it nests too deeply") from None


def merge_settings(recipe: TrainRecipe, arch: str, config_file: dict | None, sets: list[str],
                   flags: dict[str, Any], options: dict | None = None) -> tuple[dict, dict]:
    """The model settings and training config of a run, later sources winning: the
    architecture's defaults, ``recipe.model_defaults(arch, options)``, the recipe's and the
    architecture's training defaults, ``--config``, the common flags (``--steps`` ...), then
    ``--set``. Every key must be a setting of the model type or of :class:`~seqkit.train.TrainConfig`."""
    from seqkit.host.plugins import get_model_type

    chosen = recipe.archs[arch]
    model_keys = {f.name for f in dataclasses.fields(get_model_type(chosen.model_type).resolve().config_class)}
    train_keys = {f.name for f in dataclasses.fields(_train_config_class())}
    model, train = dict(chosen.config), {**recipe.train, **chosen.train}
    if recipe.model_defaults is not None:
        from seqkit.host.registry import resolve

        model.update(resolve(recipe.model_defaults, f"model defaults of {recipe.task!r}")(arch, options or {}))

    given = set()  # training keys the user gave

    def put(key: str, value, where: str):
        if key in model_keys:
            model[key] = value
        elif key in train_keys:
            train[key] = value
            given.add(key)
        else:
            raise SeqkitError(f"{where}: {key!r} is not a setting of {chosen.model_type} nor of training; "
                              f"model: {', '.join(sorted(model_keys))}; training: {', '.join(sorted(train_keys))}")

    for section, values in (config_file or {}).items():
        if isinstance(values, dict) and section in ("model", "train"):
            for k, v in values.items():
                put(k, v, f"--config [{section}]")
        else:
            put(section, values, "--config")
    train.update({k: v for k, v in flags.items() if v is not None})
    given.update(k for k, v in flags.items() if v is not None)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SeqkitError(f"--set takes key=value, not {item!r}")
        put(key.strip(), parse_value(value.strip()), f"--set {item}")
    lengths = {"steps", "epochs"}
    if lengths & given:  # a length the user gives replaces the defaults' length, not caps it
        for key in lengths - given:
            train.pop(key, None)
    return model, train


def _train_config_class():
    from seqkit.train.config import TrainConfig  # no torch: settings are checked before it loads

    return TrainConfig


def check_settings(recipe: TrainRecipe, arch: str, model: dict, train: dict):
    """Refuse bad settings before any data is read: the TrainConfig, and the model config with
    placeholders for what the data will fix (every error names the setting)."""
    import math

    from seqkit.host.plugins import get_model_type

    lr = train.get("lr")
    if lr is not None and not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise SeqkitError(f"--lr must be a positive number, not {lr}")
    for key, value in train.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise SeqkitError(f"{key} must be a finite number, not {value}")
    try:
        config = _train_config_class()(**train)
    except TypeError as exc:
        raise SeqkitError(f"training settings: {exc}") from None
    mt = get_model_type(recipe.archs[arch].model_type)
    fields = dataclasses.fields(mt.resolve().config_class)
    placeholders = {f.name: 2 for f in fields if f.name not in model and f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING}
    mt.make_config({**model, **placeholders})
    return config


# ---------------------------------------------------------------- the run

def run_training(recipe: TrainRecipe, arch: str, data: Path | None, out: Path | None, save: str | None,
                 resume: bool, init: str | None, threads: int, model_settings: dict, train_settings: dict,
                 options: dict) -> dict:
    """Check, prepare, train, export: what ``train_command`` runs after parsing."""
    from seqkit.io.checkpoints import user_checkpoint_path
    from seqkit.io.paths import check_writable
    from seqkit.options import set_threads
    from seqkit.train.run_folder import check_export_target
    from seqkit.train.trainer import check_run_folder

    train_config = check_settings(recipe, arch, model_settings, train_settings)
    if resume and out is None:
        raise SeqkitError("--resume needs the --out folder of the run to continue")
    if out is not None and str(out).strip() == "":
        raise SeqkitError("--out is empty; give a folder for the run")
    if out is None:
        from seqkit.io.data import data_dir

        out = data_dir("runs", recipe.task) / f"{arch}-{time.strftime('%Y%m%d-%H%M%S')}"
    out = Path(out)
    from seqkit.train.distributed import elastic_resume

    resume = elastic_resume(out, resume)  # restarted by torchrun's elastic agent: resume
    check_run_folder(out, resume)
    default = _default_name(recipe, arch, options, save)
    target = _save_target(save, recipe.task, default, user_checkpoint_path)
    check_writable(target, "--save")
    check_export_target(target, out)
    set_threads(threads)
    from seqkit.options import seed_everything

    seed_everything(train_config.seed)  # the model's initial weights too: one seed, one run
    run = TrainRun(Path(data) if data is not None else None, arch, options, model_settings,
                   train_settings, train_config.seed, out=Path(out), resume=resume, init=init,
                   model_type=recipe.archs[arch].model_type)
    from seqkit.host.registry import resolve

    prepared = resolve(recipe.prepare, f"train recipe of {recipe.task!r}")(run)
    model, model_type, config = _build(recipe, arch, model_settings, prepared, init, train_config.seed)
    if prepared.setup is not None:
        prepared.setup(model)
    if prepared.train:
        train_config = dataclasses.replace(train_config, **prepared.train)  # checked again
    return _fit_and_export(recipe, arch, model, model_type, config, train_config, prepared, out, target,
                           resume)


def _default_name(recipe: TrainRecipe, arch: str, options: dict, save: str | None) -> str:
    """The export's name without ``--save``: never a shipped model's (``my-NAME`` then), so that a
    quick trial run cannot stand in for the model the task's commands use by default. With
    ``--save NAME`` of a shipped model, one line says that the user's model now shadows it."""
    from seqkit.io.checkpoints import SHIPPED, shipped_checkpoint

    if save is not None and save.startswith(SHIPPED):
        raise SeqkitError(f"--save {save}: shipped models cannot be written; give your model a name")
    default = (recipe.save_as or arch).format(arch=arch, **options)
    if save is None and shipped_checkpoint(default, recipe.task) is not None:
        default = f"my-{default}"
    elif save is not None and "/" not in save and not save.endswith(".json") \
            and shipped_checkpoint(save, recipe.task) is not None:
        print(f"note: your model {save!r} will shadow the shipped {recipe.task} model of that name; "
              f"--model shipped:{save} still runs the shipped one", file=sys.stderr)
    return default


def _save_target(save: str | None, task: str, default: str, user_path) -> Path:
    if save is None:
        return user_path(task, default)
    if "/" in save or save.endswith(".json"):
        p = Path(save).expanduser()
        if p.is_dir():
            raise SeqkitError(f"--save {save} is a folder; give a .json path such as "
                              f"{p / (default + '.json')}, or a name for your checkpoint folder")
        return p if p.suffix == ".json" else p.with_suffix(".json")
    return user_path(task, save)


def check_parameter_count(build, config, limit: int | None = None) -> int | None:
    """Build the model on torch's ``meta`` device (no memory) and count its parameters: one Error
    line, before anything is allocated, when there are more than ``limit`` (``MAX_PARAMETERS``,
    or ``SEQKIT_MAX_PARAMETERS``). The count, or None where a model cannot be built on ``meta``."""
    import os

    import torch

    limit = limit or int(os.environ.get("SEQKIT_MAX_PARAMETERS") or MAX_PARAMETERS)
    rng = torch.random.get_rng_state()
    try:
        with torch.device("meta"):
            count = sum(p.numel() for p in build(config).parameters())
    except SeqkitError:
        raise
    except Exception:  # a model that cannot be built on meta: the real build reports its own problems
        return None
    finally:
        torch.random.set_rng_state(rng)
    if count > limit:
        raise SeqkitError(f"the model would have {count:,} parameters ({count * 4 / 1e9:,.0f} GB in float32), "
                          f"more than {limit:,}: check its sizes (--set), or set SEQKIT_MAX_PARAMETERS")
    return count


def _build(recipe, arch, model_settings, prepared, init, seed: int = 0):
    from seqkit.host.plugins import get_model_type

    model_type = recipe.archs[arch].model_type
    if init is None:
        import torch

        torch.manual_seed(seed)  # the same --seed, the same initial weights
        config = get_model_type(model_type).make_config({**model_settings, **prepared.config})
        check_parameter_count(get_model_type(model_type).build, config)
        return get_model_type(model_type).build(config), model_type, config
    from seqkit.io.checkpoints import find_checkpoint, load_checkpoint

    ckpt = load_checkpoint(find_checkpoint(init, recipe.task), device="cpu", expect_task=recipe.task)
    if ckpt.meta.get("model_type") != model_type:
        raise SeqkitError(f"--init {init} is a {ckpt.meta.get('model_type')} model, not {model_type} (--arch {arch})")
    clash = {k: v for k, v in prepared.config.items() if getattr(ckpt.config, k, v) != v}
    if clash:
        raise SeqkitError(f"--init {init} does not fit this data: " +
                          ", ".join(f"{k} {getattr(ckpt.config, k)} vs {v}" for k, v in clash.items()))
    # the same size is not enough: with other symbols the same ids would mean other tokens
    mine, theirs = (getattr(t, "to_dict", lambda: None)() for t in (prepared.tokenizer, ckpt.tokenizer))
    if mine is not None and theirs is not None and mine != theirs:
        raise SeqkitError(f"--init {init} was trained with another vocabulary than this data's: "
                          "train it on data with its vocabulary")
    return ckpt.model, model_type, ckpt.config


def _fit_and_export(recipe, arch, model, model_type, config, train_config, prepared, out, target, resume) -> dict:
    from seqkit.train.trainer import Trainer, lm_loss

    t0 = time.perf_counter()
    trainer = Trainer(model, train_config, prepared.train_set, prepared.val_set, collate=prepared.collate,
                      loss_fn=prepared.loss_fn or lm_loss, out=out, evaluator=prepared.evaluator,
                      on_eval=prepared.on_eval,
                      checkpoint=dict(model_type=model_type, config=config, tokenizer=prepared.tokenizer,
                                      task=recipe.task, data=prepared.data,
                                      extra={"arch": arch, **prepared.extra}))
    from seqkit.train.signals import stop_on_signals

    with stop_on_signals(trainer._on_signal):  # after the first Ctrl-C, more must not cut the export short
        result = trainer.fit(resume=resume)
        return _export(recipe, arch, model, trainer, result, prepared, out, target, t0)


def _export(recipe, arch, model, trainer, result, prepared, out, target, t0) -> dict:
    """The summary of a finished (or interrupted) run, and its export after a validation."""
    from seqkit.io.checkpoints import export_checkpoint

    summary = {"arch": arch, "run": str(out), "steps": result["steps"], "epochs": result["epochs"],
               "interrupted": result["interrupted"], "best_val_loss": result.get("best_val_loss"),
               "seconds": round(time.perf_counter() - t0, 1),
               "parameters": sum(p.numel() for p in model.parameters())}
    if result.get("best_val_loss") is None and result.get("best_train_loss") is not None:
        summary["best_train_loss"] = result["best_train_loss"]
    extra = prepared.metrics(result) if prepared.metrics else {}
    summary.update(extra)
    if not result.get("history"):  # stopped before any evaluation: nothing validated to export
        summary["saved"] = None
        print(f"interrupted before the first evaluation: nothing saved to {target} "
              f"(continue with --resume --out {out})", file=sys.stderr)
        return summary
    metrics = {k: v for k, v in {"val_loss": summary.get("best_val_loss"), "steps": result["steps"],
                                 **extra}.items() if v is not None}
    if prepared.export is not None:
        summary["saved"] = str(prepared.export(result, target, metrics))
    else:
        summary["saved"] = str(export_checkpoint(trainer.best_path, target, dtype=recipe.export_dtype,
                                                 metrics=metrics))
    if recipe.onnx_graphs:
        from seqkit.onnx.export import export_onnx

        summary["onnx"] = [f.name for f in export_onnx(summary["saved"], strict=False,
                                                       int8=recipe.onnx_graphs == "int8")]
    if result["interrupted"]:
        print(f"interrupted at step {result['steps']}: the best validated model so far is saved", file=sys.stderr)
    return summary
