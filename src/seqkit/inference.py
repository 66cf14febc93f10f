"""Inference without torch: a checkpoint's ONNX graphs on ONNX Runtime, torch as the fallback.

``load_for_inference(path)`` returns a :class:`~seqkit.checkpoints.Checkpoint` whose ``model`` is
either the torch model (``backend == "torch"``) or a runner over the checkpoint's ONNX graphs
(``backend == "onnx"``): :class:`OnnxLM` (``logits, state = model(idx, cond, state)`` on numpy
arrays; sample with ``seqkit.generate_numpy``), :class:`OnnxSeq2Seq` (``greedy_decode``) or, for
other graphs, :class:`OnnxGraph` (``run(**inputs)``).

The ONNX backend is used when ONNX Runtime is installed, the checkpoint has graphs (made by
``seqkit export-onnx``) and the device is the CPU. ``SEQKIT_BACKEND=torch`` forces torch;
``SEQKIT_BACKEND=onnx`` makes a missing graph or runtime an error instead of a fallback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

from .errors import SeqkitError

BACKENDS = ("auto", "onnx", "torch")


def backend_setting() -> str:
    """``SEQKIT_BACKEND``: ``auto`` (default), ``onnx`` or ``torch``."""
    value = os.environ.get("SEQKIT_BACKEND", "").strip().lower() or "auto"
    if value not in BACKENDS:
        raise SeqkitError(f"SEQKIT_BACKEND must be auto, onnx or torch, not {value!r}")
    return value


def onnxruntime_version() -> str | None:
    """The installed ONNX Runtime's version (without importing it), or ``None``."""
    from importlib import metadata

    for dist in ("onnxruntime", "onnxruntime-gpu"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def onnx_files(path, meta: dict) -> dict[str, Path]:
    """The checkpoint's graphs by part (``step``; ``encoder``/``decoder``), made from its weights."""
    path = Path(path)
    stem = Path(meta["weights"]).stem
    return {f.name[len(stem) + 1: -len(".onnx")]: f for f in sorted(path.parent.glob(f"{stem}.*.onnx"))}


def make_session(model):
    """An ONNX Runtime session on one thread (the models are tiny; more threads only wait).

    Basic optimizations only: the export applied them already, and the extended ones cost more at
    start than they save (names transformer: 27 ms to start and 0.71 ms a step for a batch of 22,
    against 35 ms and 1.05 ms with all of them)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), sess_options=opts,
                                providers=["CPUExecutionProvider"])


class OnnxGraph:
    """One graph: ``run(**inputs) -> {output name: array}``; inputs it does not take are ignored."""

    def __init__(self, file):
        self.file = Path(file)
        self.session = make_session(self.file)
        props = self.session.get_modelmeta().custom_metadata_map
        self.meta = json.loads(props.get("seqkit", "{}"))
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.config = None  # the checkpoint's config (a SimpleNamespace), set by load_for_inference

    def run(self, **feeds) -> dict:
        got = self.session.run(None, {k: feeds[k] for k in self.inputs})
        return dict(zip(self.outputs, got))


def _zeros(shapes, batch: int) -> list:
    import numpy as np

    return [np.zeros([batch if d == "B" else d for d in s], dtype=np.float32) for s in shapes]


def _states(out: dict) -> list:
    keys = sorted((k for k in out if k.startswith("state_out_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    return [out[k] for k in keys]


class OnnxLM:
    """A language model's step graph: ``logits, state = model(idx, cond=None, cache=None)`` with
    numpy arrays (``idx`` int64 ``[B, T]``); ``cache=None`` starts from the empty state."""

    def __init__(self, graph: OnnxGraph, config):
        self.graph, self.config = graph, config
        self.max_len = graph.meta.get("max_len")

    def __call__(self, idx, cond=None, cache=None):
        import numpy as np

        idx = np.asarray(idx, dtype=np.int64)
        B = idx.shape[0]
        state = cache if cache is not None else _zeros(self.graph.meta["states"], B)
        feeds = {f"state_{i}": s for i, s in enumerate(state)}
        feeds["cond"] = np.asarray(cond if cond is not None else np.zeros(B), dtype=np.int64)
        if self.graph.meta.get("tokens_per_call") == 1:  # the graph reads one token per call
            logits = []
            for t in range(idx.shape[1]):
                out = self.graph.run(idx=idx[:, t: t + 1], **feeds)
                feeds.update({f"state_{i}": s for i, s in enumerate(_states(out))})
                logits.append(out["logits"])
            return np.concatenate(logits, axis=1), [feeds[f"state_{i}"] for i in range(len(state))]
        out = self.graph.run(idx=idx, **feeds)
        return out["logits"], _states(out)


class OnnxSeq2Seq:
    """An encoder-decoder's two graphs: ``greedy_decode(src, max_len, bos_id, eos_id)`` like the
    torch models', on numpy arrays. Rows of ``src`` must have one length (no padding): pass rows
    of equal length together (``greedy_decode_rows`` groups them)."""

    def __init__(self, encoder: OnnxGraph, decoder: OnnxGraph, config):
        self.encoder, self.decoder, self.config = encoder, decoder, config

    def start(self, src):
        import numpy as np

        out = self.encoder.run(src=np.asarray(src, dtype=np.int64))
        memory = {k: v for k, v in out.items() if k.startswith("memory_")}
        state = _zeros(self.decoder.meta["states"], src.shape[0])
        for i in range(len(state)):
            if f"state_{i}" in out:
                state[i] = out[f"state_{i}"]
        return memory, state

    def step(self, token, memory, state):
        out = self.decoder.run(token=token, **memory, **{f"state_{i}": s for i, s in enumerate(state)})
        return out["logits"], _states(out)

    def greedy_decode(self, src, max_len: int, bos_id: int, eos_id: int):
        import numpy as np

        src = np.asarray(src, dtype=np.int64)
        B = src.shape[0]
        memory, state = self.start(src)
        token = np.full((B, 1), bos_id, dtype=np.int64)
        done = np.zeros(B, dtype=bool)
        out = []
        for _ in range(max_len):
            logits, state = self.step(token, memory, state)
            token = logits[:, -1].argmax(-1)[:, None].astype(np.int64)
            token[done] = eos_id
            out.append(token)
            done |= token[:, 0] == eos_id
            if done.all():
                break
        return np.concatenate(out, axis=1) if out else token[:, :0]

    def greedy_decode_rows(self, rows: list[list[int]], max_len, bos_id: int, eos_id: int,
                           batch_size: int = 512) -> list[list[int]]:
        """Greedy outputs for token lists of any lengths (grouped by length, in batches);
        ``max_len(n_tokens)`` gives each group's output budget."""
        import numpy as np

        by_len: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            by_len.setdefault(len(r), []).append(i)
        out: list[list[int]] = [[] for _ in rows]
        for n, idx in sorted(by_len.items()):
            for lo in range(0, len(idx), batch_size):
                part = idx[lo: lo + batch_size]
                ids = self.greedy_decode(np.array([rows[i] for i in part], dtype=np.int64), max_len(n),
                                         bos_id, eos_id)
                for i, row in zip(part, ids.tolist()):
                    out[i] = row
        return out


def _runner(files: dict[str, Path], config):
    graphs = {part: OnnxGraph(f) for part, f in files.items()}
    kind = next(iter(graphs.values())).meta.get("kind")
    runner = next(iter(graphs.values())).meta.get("runner")
    if runner:  # a plugin's runner over its graphs ("module:Class", called with the graphs and config)
        import importlib

        module, _, name = runner.partition(":")
        return getattr(importlib.import_module(module), name)(graphs, config)
    if kind == "lm" and "step" in graphs:
        return OnnxLM(graphs["step"], config)
    if kind == "seq2seq" and {"encoder", "decoder"} <= set(graphs):
        return OnnxSeq2Seq(graphs["encoder"], graphs["decoder"], config)
    if len(graphs) == 1:
        graph = next(iter(graphs.values()))
        graph.config = config
        return graph
    raise SeqkitError(f"unknown ONNX graphs {', '.join(map(str, files.values()))}")


def _why_not_onnx(path, meta: dict, device) -> str | None:
    if str(device or "cpu") != "cpu":
        return f"device {device} (ONNX Runtime runs here on the CPU only)"
    if onnxruntime_version() is None:
        return "onnxruntime is not installed"
    if not onnx_files(path, meta):
        return f"{Path(path).name} has no ONNX graphs (make them with: seqkit export-onnx {path})"
    return None


def _check_weights(path: Path, meta: dict) -> None:
    """The weights file the graphs were made from is there and intact (its recorded SHA-256)."""
    import hashlib

    from .errors import CheckpointError

    name = meta["weights"]
    try:
        blob = (path.parent / name).read_bytes()
    except OSError:
        raise CheckpointError(f"{path}: its weights file {name} is missing") from None
    digest = meta.get("weights_sha256")
    if digest and hashlib.sha256(blob).hexdigest() != digest:
        raise CheckpointError(f"{path}: its weights file {name} is corrupt (checksum mismatch)")


def load_for_inference(path, device="cpu", expect_task: str | None = None):
    """The checkpoint at ``path`` ready to run, on ONNX Runtime when it can (see the module)."""
    from .checkpoints import Checkpoint, checkpoint_tokenizer, load_checkpoint, read_meta
    from .errors import CheckpointError

    setting = backend_setting()
    path = Path(path)
    meta = read_meta(path)
    if expect_task and meta.get("task") and meta["task"] != expect_task:
        raise CheckpointError(f"{path} is a checkpoint for the {meta['task']!r} task, not for {expect_task!r}")
    # ``auto``: ONNX Runtime on the CPU where the model has graphs (the small models that have them
    # answer fastest there, and no torch is imported to look for a GPU); else torch's own choice
    onnx_device = "cpu" if str(device).strip().lower() == "auto" else device
    why = "SEQKIT_BACKEND=torch" if setting == "torch" else _why_not_onnx(path, meta, onnx_device)
    if why is None:
        _check_weights(path, meta)  # a corrupt checkpoint is one error on either backend
        try:
            model = _runner(onnx_files(path, meta), SimpleNamespace(**meta["config"]))
        except Exception as exc:  # an unreadable graph or an operator this runtime lacks: use torch
            why = f"ONNX Runtime cannot run its graphs ({type(exc).__name__}: {str(exc)[:200]})"
    if why is not None:
        if setting == "onnx":
            raise SeqkitError(f"SEQKIT_BACKEND=onnx, but {path}: {why}")
        if str(device).strip().lower() == "auto":
            from .device import pick_device

            device = pick_device("auto")
        ckpt = load_checkpoint(path, device, expect_task=expect_task)
        ckpt.backend = "torch"
        return ckpt
    return Checkpoint(model, checkpoint_tokenizer(meta, path), meta, path, None, model.config, backend="onnx")


def backend_report() -> str:
    """One line for ``seqkit doctor``."""
    try:
        setting = backend_setting()
    except SeqkitError as exc:
        return str(exc)
    version = onnxruntime_version()
    if setting == "torch":
        return "torch (forced by SEQKIT_BACKEND=torch)"
    if version is None:
        return "torch (onnxruntime not installed)"
    return f"onnxruntime {version} where a model has ONNX graphs, else torch (SEQKIT_BACKEND={setting})"
