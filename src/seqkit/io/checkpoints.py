"""Checkpoints: ``NAME.json`` (metadata) + the safetensors file it names. Never pickles.

Writes are atomic: the weights go to a new file named by their content hash, then the JSON is
replaced in one ``os.replace``; only after that is the previous weights file removed. A process
killed at any moment leaves either the old or the new checkpoint fully loadable.

The JSON holds: ``model_type`` and ``config`` (to rebuild the model through the registry),
``tokenizer`` (its ``to_dict()``), ``task``, ``data`` (what it was trained on), ``metrics``,
``extra`` (task-specific settings), ``seqkit_version`` and, for resumable training checkpoints,
``train_state`` (a second safetensors file) and ``trainer`` (JSON-safe trainer state).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import glob
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqkit.errors import CheckpointError, SeqkitError

FORMAT = "seqkit-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (in eval mode), its tokenizer and its metadata."""

    model: Any
    tokenizer: Any
    meta: dict
    path: Path
    train_state: dict | None = None
    config: Any = None
    backend: str = "torch"  # "onnx": ``model`` runs the exported graphs (seqkit.load_for_inference)
    threads: int | None = None  # intra-op threads load_for_inference chose (None: not chosen)

    @property
    def extra(self) -> dict:
        return self.meta.get("extra") or {}


def _is_file_name(name) -> bool:
    """A single file name: no folder part, so ``folder / name`` stays in ``folder``."""
    return (isinstance(name, str) and name not in ("", ".", "..")
            and not any(c in name for c in "/\\\0"))


def _is_plain_name(name) -> bool:
    return _is_file_name(name) and ".." not in name


def check_name(name: str, what: str = "checkpoint name") -> str:
    """``name`` if it is a plain file name (no ``/``, ``\\`` or ``..``), else a :class:`SeqkitError`.

    Use it wherever a name from the user becomes a file in a folder, so ``../x`` cannot escape.
    """
    if not _is_plain_name(name):
        raise SeqkitError(f"invalid {what} {name!r}: use a plain name without '/', '\\' or '..'")
    return name


def user_checkpoint_dir(task: str | None = None) -> Path:
    """The user's checkpoint folder (of ``task``). Not created here: saving creates it, and
    looking a model up must work with a read-only home."""
    from seqkit.io.data import data_dir

    return data_dir("checkpoints", *([check_name(task, "task name")] if task else []), create=False)


def user_checkpoint_path(task: str, name: str) -> Path:
    """Where the user's checkpoint ``name`` of ``task`` lives: ``user_checkpoint_dir(task)/NAME.json``."""
    return user_checkpoint_dir(task) / f"{check_name(name)}.json"


# ---------------------------------------------------------------- structure <-> flat tensors

def flatten_state(obj: Any, prefix: str = "s") -> tuple[Any, dict]:
    """Split a nested structure into a JSON-safe skeleton and a dict of tensors."""
    import torch

    tensors: dict = {}

    def walk(x, key):
        if isinstance(x, torch.Tensor):
            tensors[key] = x.detach().cpu().contiguous().clone()
            return {"__tensor__": key}
        if isinstance(x, dict):
            if all(isinstance(k, str) for k in x):
                return {k: walk(v, f"{key}.{k}") for k, v in x.items()}
            return {"__items__": [[k, walk(v, f"{key}.{i}")] for i, (k, v) in enumerate(x.items())]}
        if isinstance(x, (list, tuple)):
            return [walk(v, f"{key}.{i}") for i, v in enumerate(x)]
        if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
            return {"__float__": repr(x)}
        if x is None or isinstance(x, (str, int, float, bool)):
            return x
        raise TypeError(f"cannot store {type(x).__name__} in a checkpoint")

    return walk(obj, prefix), tensors


def unflatten_state(skeleton: Any, tensors: dict) -> Any:
    def walk(x):
        if isinstance(x, dict):
            if "__tensor__" in x:
                return tensors[x["__tensor__"]]
            if "__items__" in x:
                return {k: walk(v) for k, v in x["__items__"]}
            if "__float__" in x:
                return float(x["__float__"])
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    return walk(skeleton)


# ---------------------------------------------------------------- atomic writing

def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``. ``-`` is standard
    output; a character device or a FIFO is written into, never replaced; a symbolic link is
    refused (``seqkit.io.paths.output_kind``)."""
    from seqkit.io.paths import output_kind, write_through

    kind = output_kind(path)
    if kind != "file":
        write_through(path, data, kind)
        return
    path = Path(path)
    if path.is_dir():  # else os.replace fails naming the temporary file
        raise IsADirectoryError(errno.EISDIR, "Is a folder, not a file", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_tensors(folder: Path, stem: str, tensors: dict, metadata: dict | None = None) -> tuple[str, str]:
    from safetensors.torch import save

    blob = save(tensors, metadata=metadata)
    digest = hashlib.sha256(blob).hexdigest()
    name = f"{stem}-{digest[:12]}.safetensors"
    target = folder / name
    if not target.exists():
        atomic_write_bytes(target, blob)
    return name, digest


def save_checkpoint(path, model, *, model_type: str, config: Any, tokenizer: Any = None,
                    task: str = "", data: dict | None = None, metrics: dict | None = None,
                    extra: dict | None = None, train_state: Any = None, trainer: dict | None = None,
                    dtype: str | None = None) -> Path:
    """Write ``path`` (``NAME.json``) and its weights atomically; returns the JSON path.

    ``dtype="float16"`` (or ``"bfloat16"``) stores floating weights at half precision, for
    shipping small models. ``train_state`` is any nest of dicts/lists/tensors/scalars (optimizer
    state, RNG state ...) needed to resume training.
    """
    import torch

    from seqkit import __version__

    path = Path(path)
    if path.suffix != ".json":
        path = path.with_suffix(".json")
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    stem = path.stem
    model = getattr(model, "module", model)  # unwrap DDP
    model = getattr(model, "_orig_mod", model)  # unwrap torch.compile
    cast = getattr(torch, dtype) if dtype else None
    tensors = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        if cast is not None and v.is_floating_point():
            v = v.to(cast)
        tensors[k] = v.contiguous().clone()
    weights, digest = _write_tensors(folder, stem, tensors)
    state_file = state_digest = None
    state_skeleton = None
    if train_state is not None:
        state_skeleton, state_tensors = flatten_state(train_state)
        state_file, state_digest = _write_tensors(folder, f"{stem}.train", state_tensors)
    if dataclasses.is_dataclass(config):
        config = dataclasses.asdict(config)
    tok = tokenizer.to_dict() if hasattr(tokenizer, "to_dict") else tokenizer
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seqkit_version": __version__,
        "name": stem,
        "task": task,
        "model_type": model_type,
        "config": config,
        "tokenizer": tok,
        "data": data or {},
        "metrics": metrics or {},
        "extra": extra or {},
        "parameters": int(sum(v.numel() for v in model.parameters())),
        "dtype": dtype or "float32",
        "weights": weights,
        "weights_sha256": digest,
        "train_state": state_file,
        "train_state_sha256": state_digest,
        "train_state_layout": state_skeleton,
        "trainer": trainer,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write_bytes(path, (json.dumps(meta, indent=1, sort_keys=False) + "\n").encode())
    remove_unreferenced(folder, stem)
    return path


def _referenced_files(path: Path) -> set:
    try:
        meta = json.loads(path.read_text())
        return {f for f in (meta.get("weights"), meta.get("train_state")) if _is_file_name(f)}
    except Exception:
        return set()


def remove_unreferenced(folder: Path, stem: str) -> None:
    """Delete ``stem``'s weights files that no checkpoint in ``folder`` names any more: the
    previous save's, and those of a save that a crash stopped before its JSON was replaced."""
    import re

    own = re.compile(rf"{re.escape(stem)}(\.train)?-[0-9a-f]{{12}}\.safetensors")
    candidates = [p for p in folder.glob(f"{glob.escape(stem)}*.safetensors") if own.fullmatch(p.name)]
    if not candidates:
        return
    keep = set()
    for meta_path in folder.glob("*.json"):
        keep |= _referenced_files(meta_path)
    for p in candidates:
        if p.name not in keep:
            try:
                p.unlink()
            except OSError:
                pass


# ---------------------------------------------------------------- reading

def read_meta(path) -> dict:
    """The checkpoint's JSON, checked; a clear ``CheckpointError`` when it is not one."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint (.json)")
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not a seqkit checkpoint (unreadable JSON: {exc})") from None
    except RecursionError:
        raise CheckpointError(f"{path} is not a seqkit checkpoint (JSON nested too deeply)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a seqkit checkpoint")
    version = meta.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise CheckpointError(f"{path} is damaged: its format_version is {str(version)[:40]!r}, not a whole number")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer seqkit (format {meta.get('format_version')}); upgrade seqkit"
        )
    for key in ("model_type", "config", "weights"):
        if key not in meta:
            raise CheckpointError(f"{path} is incomplete: no {key!r}")
    for key in ("weights", "train_state"):
        value = meta.get(key)
        if (value is not None or key == "weights") and not _is_file_name(value):
            raise CheckpointError(
                f"{path}: its {key!r} must be a file name next to it (no '/', '\\' or '..'), "
                f"got {value!r}"
            )
    return meta


def _read_tensors(folder: Path, name: str, digest: str | None, what: str, source: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load

    file = folder / name
    try:
        blob = file.read_bytes()
    except OSError:
        raise CheckpointError(f"{source}: its {what} file {name} is missing") from None
    if digest and hashlib.sha256(blob).hexdigest() != digest:
        raise CheckpointError(f"{source}: its {what} file {name} is corrupt (checksum mismatch)")
    try:
        return load(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{source}: its {what} file {name} is corrupt ({exc})") from None


def checkpoint_tokenizer(meta: dict, path):
    """The tokenizer a checkpoint's metadata records (``None`` if it has none), or one
    :class:`CheckpointError` naming the file."""
    from seqkit.tokenizers import tokenizer_from_dict

    if not meta.get("tokenizer"):
        return None
    try:
        return tokenizer_from_dict(meta["tokenizer"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable tokenizer ({exc})") from None


OLD_KEYS = {"n_layers": "n_layer"}  # the RNN and seq2seq configs' key in checkpoints written before seqkit 0.5
OLD_KEY_TYPES = ("rnn-lm", "gru-seq2seq", "transformer-seq2seq")


def _config_of(meta: dict):
    """A checkpoint's model settings; one written before seqkit 0.5 says ``n_layers`` where the RNN
    and seq2seq configs now say ``n_layer``: read under the new key, so that the file still loads
    (a user typing ``--set n_layers=2`` gets an error since 0.6; a file is not rewritten)."""
    config = meta["config"]
    if isinstance(config, dict) and meta.get("model_type") in OLD_KEY_TYPES:
        for old, new in OLD_KEYS.items():
            if old in config:
                config = {k: v for k, v in config.items() if k != old}
                config.setdefault(new, meta["config"][old])
    return config


def load_checkpoint(path, device="cpu", with_train_state: bool = False, expect_task: str | None = None) -> Checkpoint:
    """Rebuild the model (eval mode, on ``device``) and tokenizer from a checkpoint."""
    from seqkit.host.plugins import get_model_type

    path = Path(path)
    meta = read_meta(path)
    if expect_task and meta.get("task") and meta["task"] != expect_task:
        raise CheckpointError(f"{path} is a checkpoint for the {meta['task']!r} task, not for {expect_task!r}")
    try:
        mtype = get_model_type(meta["model_type"])
    except SeqkitError as exc:
        raise CheckpointError(f"{path}: {exc} (is the plugin that provides it installed?)") from None
    tensors = _read_tensors(path.parent, meta["weights"], meta.get("weights_sha256"), "weights", path)
    for key, value in tensors.items():
        if value.is_floating_point() and bool(value.isnan().any()):  # (inf can be a mask's)
            raise CheckpointError(f"{path}: its weights are damaged ({key} holds NaN values)")
    try:
        config = mtype.make_config(_config_of(meta))
        _check_shapes(path, _shapes_of(mtype, config), tensors)  # before allocating a huge config
        model = mtype.build(config)
    except SeqkitError as exc:
        raise CheckpointError(f"{path}: incompatible config: {exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise CheckpointError(f"{path}: incompatible config: {exc}") from None
    dtypes = {k: v.dtype for k, v in model.state_dict().items()}
    tensors = {k: (v.to(dtypes[k]) if k in dtypes else v) for k, v in tensors.items()}
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise CheckpointError(f"{path}: weights do not fit the model ({detail[:300]})") from None
    model.to(device)
    model.eval()
    tokenizer = checkpoint_tokenizer(meta, path)
    train_state = None
    if with_train_state and meta.get("train_state"):
        flat = _read_tensors(path.parent, meta["train_state"], meta.get("train_state_sha256"),
                             "training state", path)
        try:
            train_state = unflatten_state(meta.get("train_state_layout"), flat)
        except (KeyError, TypeError, ValueError, RecursionError) as exc:
            raise CheckpointError(f"{path}: its train_state_layout is damaged "
                                  f"({type(exc).__name__}: {str(exc)[:100]})") from None
    return Checkpoint(model, tokenizer, meta, path, train_state, config)


def _shapes_of(mtype, config) -> dict | None:
    """The parameter shapes a model of ``config`` would have, found without allocating memory
    (on torch's meta device); None when the model cannot be built that way."""
    import torch

    try:
        with torch.device("meta"), _no_random_fill_on_meta():
            model = mtype.build(config)
        return {k: tuple(v.shape) for k, v in model.state_dict().items()}
    except (SeqkitError, TypeError, ValueError, OverflowError):
        raise
    except RuntimeError as exc:
        if "overflow" in str(exc):  # sizes past what any machine holds
            raise ValueError(f"the model would be too large ({' '.join(str(exc).split())[:120]})") from None
        return None
    except Exception:  # a model that needs real tensors to build: checked after building
        return None


_RANDOM_FILLS = ("normal_", "uniform_", "random_", "bernoulli_", "exponential_", "log_normal_",
                 "geometric_", "cauchy_")


@contextlib.contextmanager
def _no_random_fill_on_meta():
    """Random fills (``nn.init.normal_`` ...) of meta tensors do nothing: on the meta device torch
    runs them through ``torch._refs``, which imports ``torch._dynamo`` (about 1.1 s) to fill
    nothing. Tensors on other devices are filled as usual."""
    import torch

    saved = {name: getattr(torch.Tensor, name) for name in _RANDOM_FILLS}

    def skip(original):
        def fill(self, *args, **kwargs):
            return self if self.is_meta else original(self, *args, **kwargs)
        return fill

    try:
        for name, original in saved.items():
            setattr(torch.Tensor, name, skip(original))
        yield
    finally:
        for name, original in saved.items():
            setattr(torch.Tensor, name, original)


def _check_shapes(path: Path, shapes: dict | None, tensors: dict) -> None:
    if shapes is None:
        return
    for key, shape in shapes.items():
        if key in tensors and tuple(tensors[key].shape) != shape:
            raise CheckpointError(f"{path}: weights do not fit the model ({key} has shape "
                                  f"{list(tensors[key].shape)} in the file but {list(shape)} in its config)")


# ---------------------------------------------------------------- finding

def checkpoint_dirs(task: str | None = None) -> list[tuple[str, Path]]:
    """Where checkpoints are looked for: the user's folder first, then each task's shipped one."""
    from seqkit.host.plugins import checkpoint_folders, tasks

    dirs = []
    all_tasks = tasks()
    names = [task] if task else sorted(all_tasks)
    for name in names:
        dirs.append(("user", user_checkpoint_dir(name)))
    for name in names:
        t = all_tasks.get(name)
        if t is not None and t.checkpoints:
            dirs.append(("shipped", Path(t.checkpoints)))
        dirs.extend(("shipped", Path(f.folder)) for f in checkpoint_folders(name))
    return dirs


SHIPPED = "shipped:"  # ``--model shipped:NAME``: the shipped model, even when the user has one of that name

# What find_checkpoint resolved in this process, oldest first ({"name", "path", "origin", "shadows"}):
# ``generate`` reads it (take_resolutions) to say when a user model stands in for a shipped one.
_resolutions: list[dict] = []


def shipped_checkpoint(name: str, task: str) -> Path | None:
    """The shipped checkpoint ``name`` of ``task`` (a plugin's folder), or None."""
    for origin, folder in checkpoint_dirs(task):
        if origin == "shipped" and (folder / f"{name}.json").is_file():
            return folder / f"{name}.json"
    return None


def take_resolutions() -> list[dict]:
    """What :func:`find_checkpoint` resolved since the last call (and forget it)."""
    out = list(_resolutions)
    _resolutions.clear()
    return out


def _resolved(name: str, path: Path, origin: str, task: str) -> Path:
    shadows = shipped_checkpoint(name, task) if origin == "user" else None
    _resolutions.append({"name": name, "path": path, "origin": origin,
                         "shadows": str(shadows) if shadows else None})
    del _resolutions[:-16]  # a long-running server resolves many: keep the last few
    return path


def find_checkpoint(spec: str | os.PathLike, task: str) -> Path:
    """A checkpoint path from a name (``gru``: user's first, then shipped), ``shipped:NAME`` (the
    shipped one only) or a path."""
    spec_s = str(spec)
    if spec_s.startswith(SHIPPED):
        name = check_name(spec_s[len(SHIPPED):])
        found = shipped_checkpoint(name, task)
        if found is None:
            known = sorted({c["name"] for c in list_checkpoints(task) if c["origin"] == "shipped"})
            raise CheckpointError(f"no shipped {task} checkpoint named {name!r} "
                                  f"(shipped: {', '.join(known) or 'none'})")
        return _resolved(name, found, "shipped", task)
    p = Path(spec_s).expanduser()
    looks_like_path = os.sep in spec_s or spec_s.endswith(".json") or p.exists()
    if looks_like_path:
        if p.is_dir():
            raise CheckpointError(f"{p} is a folder; pass the checkpoint's .json file")
        if not p.exists():
            raise CheckpointError(f"checkpoint {p} does not exist")
        return _resolved(p.stem, p, "file", task)
    check_name(spec_s)
    for origin, folder in checkpoint_dirs(task):
        candidate = folder / f"{spec_s}.json"
        if candidate.exists():
            return _resolved(spec_s, candidate, origin, task)
    known = sorted({c["name"] for c in list_checkpoints(task)})
    import difflib

    close = difflib.get_close_matches(spec_s, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise CheckpointError(
        f"no {task} checkpoint named {spec_s!r}{hint} (available: {', '.join(known) or 'none'})"
    )


def list_checkpoints(task: str | None = None) -> list[dict]:
    """Summaries of every checkpoint found (user's and shipped), unreadable ones flagged."""
    out = []
    seen = set()
    for origin, folder in checkpoint_dirs(task):
        if not folder.is_dir():
            continue
        for p in sorted(folder.glob("*.json")):
            if p in seen:
                continue
            seen.add(p)
            row: dict = {"name": p.stem, "origin": origin, "path": str(p)}
            try:
                meta = read_meta(p)
            except CheckpointError as exc:
                row["error"] = str(exc)
                out.append(row)
                continue
            size = p.stat().st_size
            for key in ("weights", "train_state"):
                if meta.get(key) and (folder / meta[key]).exists():
                    size += (folder / meta[key]).stat().st_size
            row.update(
                task=meta.get("task", ""), model_type=meta.get("model_type"),
                parameters=meta.get("parameters"), size_bytes=size,
                metrics=meta.get("metrics") or {}, data=meta.get("data") or {},
                created=meta.get("created"),
            )
            out.append(row)
    return out


def export_checkpoint(src, dest, dtype: str | None = None, **meta_updates) -> Path:
    """Copy a checkpoint without its training state (optionally cast to ``dtype``).

    ``meta_updates`` replace top-level metadata fields (``metrics=...``, ``data=...``,
    ``extra=...``), e.g. to record evaluation numbers in a shipped model.
    """
    from seqkit.io.locks import hold_lock

    ckpt = load_checkpoint(src, device="cpu")
    meta = ckpt.meta
    fields = {k: meta.get(k) for k in ("task", "data", "metrics", "extra")}
    fields.update(meta_updates)
    dest = Path(dest).with_suffix(".json")
    # one export to a name at a time: a second one is refused while the first writes
    with hold_lock(dest.parent / f".{dest.stem}.lock", f"the model {dest}"):
        return save_checkpoint(dest, ckpt.model, model_type=meta["model_type"], config=meta["config"],
                               tokenizer=meta.get("tokenizer"), dtype=dtype, **fields)
