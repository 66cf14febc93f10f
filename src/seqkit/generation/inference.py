"""Inference without torch: a checkpoint's ONNX graphs on ONNX Runtime, torch as the fallback.

``load_for_inference(path)`` returns a :class:`~seqkit.io.checkpoints.Checkpoint` whose ``model`` is
either the torch model (``backend == "torch"``) or a runner over the checkpoint's ONNX graphs
(``backend == "onnx"``): :class:`OnnxLM` (``logits, state = model(idx, cond, state)`` on numpy
arrays; sample with ``seqkit.generation.generate_numpy``), :class:`OnnxSeq2Seq` (``greedy_decode``) or, for
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

from seqkit.errors import SeqkitError

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


def import_onnxruntime():
    """``onnxruntime``, quiet: no telemetry (which, in a read-only home, warns that it cannot
    persist its device ID) and errors only in its log."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    return ort


SMALL_WORK = 50_000_000  # batch x parameters a step below which one thread is fastest


def pick_threads(requested: int | None = 0, batch: int = 1, parameters: int = 0) -> int:
    """Intra-op threads for decoding ``batch`` rows through a model of ``parameters``:
    ``requested`` when given (``--threads N``, N >= 1); else one thread for small work (batch x
    parameters under ``SMALL_WORK``: batch-1 decoding of the shipped models, a few abc tunes),
    where a second thread only waits; else every core, at most 8 (batched or long work). Measured
    side by side on this 2-core machine at load 15 (benchmarks/abc_onnx.py, the 1 x 512 LSTM's
    step): batch 1 0.72 ms on one thread against 1.14 ms on two, batch 3 1.35 against 1.99; batch
    64 21.7 against 16.0, batch 512 118 against 98."""
    if requested:
        return int(requested)
    if batch * max(parameters, 1) < SMALL_WORK:
        return 1
    return max(1, min(8, os.cpu_count() or 1))


def threads_report() -> str:
    """One line for ``seqkit doctor``: how threads are chosen, and what batched work gets now."""
    return (f"1 for small decoding (batch x parameters < {SMALL_WORK:.0e}); batched or long work: "
            f"{pick_threads(0, SMALL_WORK, 1)} (every core, at most 8); --threads N overrides")


def make_session(model, threads: int = 1):
    """An ONNX Runtime session on ``threads`` intra-op threads (one by default: the models are
    tiny; more threads only wait; see :func:`pick_threads`).

    Basic optimizations only: the export applied them already, and the extended ones cost more at
    start than they save (names transformer: 27 ms to start and 0.71 ms a step for a batch of 22,
    against 35 ms and 1.05 ms with all of them)."""
    ort = import_onnxruntime()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), sess_options=opts,
                                providers=["CPUExecutionProvider"])


class OnnxGraph:
    """One graph: ``run(**inputs) -> {output name: array}``; inputs it does not take are ignored."""

    def __init__(self, file, threads: int = 1):
        self.file = Path(file)
        self.session = make_session(self.file, threads)
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

    @property
    def has_hidden(self) -> bool:
        """The graph gives its top layer's output at every step (``hidden``: recurrent LMs)."""
        return "hidden" in self.graph.outputs

    def hidden_sequence(self, idx, cond=None):
        """Top-layer outputs for every step, ``float32 [B, T, hidden]``, as the torch model's
        ``hidden_sequence`` gives them (graphs with a ``hidden`` output)."""
        import numpy as np

        if not self.has_hidden:
            raise SeqkitError(f"{self.graph.file.name} has no hidden output (re-export it)")
        idx = np.asarray(idx, dtype=np.int64)
        B = idx.shape[0]
        feeds = {f"state_{i}": s for i, s in enumerate(_zeros(self.graph.meta["states"], B))}
        feeds["cond"] = np.asarray(cond if cond is not None else np.zeros(B), dtype=np.int64)
        return self.graph.run(idx=idx, **feeds)["hidden"]


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


class GraphMismatch(SeqkitError):
    """The checkpoint's ONNX graphs are not the ones made from its weights (missing, corrupt,
    swapped, or the wrong set): ``load_for_inference`` falls back to torch."""


def file_sha256(path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checked_onnx_files(path, meta: dict) -> dict[str, Path]:
    """The checkpoint's graphs, checked against the SHA-256 of each that ``export_onnx`` recorded
    in its JSON (``onnx_sha256``: part -> hex digest): the same set of parts, each file intact. A
    checkpoint from before the record has its graphs checked by their signatures only
    (:func:`_check_signatures`). A mismatch is a :class:`GraphMismatch`."""
    files = onnx_files(path, meta)
    recorded = meta.get("onnx_sha256")
    if recorded is None:
        return files
    if not isinstance(recorded, dict) or not all(isinstance(v, str) for v in recorded.values()):
        raise GraphMismatch("its onnx_sha256 record is damaged")
    stem = Path(meta["weights"]).stem
    missing = sorted(set(recorded) - set(files))
    if missing:
        raise GraphMismatch(f"its ONNX graph {stem}.{missing[0]}.onnx is missing")
    extra = sorted(set(files) - set(recorded))
    if extra:
        raise GraphMismatch(f"{stem}.{extra[0]}.onnx is not one of its ONNX graphs")
    for part, f in files.items():
        if file_sha256(f) != recorded[part].lower():
            raise GraphMismatch(f"its ONNX graph {f.name} does not match the checksum recorded at export")
    return files


def _signature(kind: str | None, part: str, n_states: int) -> tuple[set, set] | None:
    """The inputs and outputs a graph of ``kind`` must have to be run as ``part``."""
    states = {f"state_{i}" for i in range(n_states)}
    outs = {"logits"} | {f"state_out_{i}" for i in range(n_states)}
    if kind == "lm" and part == "step":
        return {"idx"} | states, outs
    if kind == "seq2seq" and part == "encoder":
        return {"src"}, set()
    if kind == "seq2seq" and part == "decoder":
        return {"token"} | states, outs
    return None


def _check_signatures(graphs: dict, meta: dict) -> None:
    """Each graph was made from these weights for this part, and has the inputs and outputs its
    runner feeds and reads (a swapped or foreign graph is a :class:`GraphMismatch`)."""
    for part, g in graphs.items():
        made = g.meta
        if made.get("part", part) != part or made.get("model_type", meta["model_type"]) != meta["model_type"]:
            raise GraphMismatch(f"{g.file.name} is a {made.get('model_type')} {made.get('part')} graph, "
                                f"not this {meta['model_type']} checkpoint's {part} graph")
        if made.get("weights_sha256") and meta.get("weights_sha256") \
                and made["weights_sha256"] != meta["weights_sha256"]:
            raise GraphMismatch(f"{g.file.name} was made from other weights")
        want = _signature(made.get("kind"), part, len(made.get("states") or []))
        if want is not None:
            ins, outs = want
            lacks = sorted((ins - set(g.inputs)) | (outs - set(g.outputs)))
            if lacks:
                raise GraphMismatch(f"{g.file.name} lacks {', '.join(lacks)}")
            unknown = sorted(set(g.inputs) - ins - {"cond"} - {i for i in g.inputs if i.startswith("memory_")})
            if unknown:
                raise GraphMismatch(f"{g.file.name} takes inputs this runner does not give ({', '.join(unknown)})")


def _runner(files: dict[str, Path], config, meta: dict | None = None, threads: int = 1):
    graphs = {part: OnnxGraph(f, threads) for part, f in files.items()}
    if meta is not None:
        _check_signatures(graphs, meta)
    runner = next(iter(graphs.values())).meta.get("runner")
    if runner:  # a plugin's runner over its graphs ("module:Class", called with the graphs and config)
        import importlib

        module, _, name = runner.partition(":")
        return getattr(importlib.import_module(module), name)(graphs, config)
    kinds = {g.meta.get("kind") for g in graphs.values()}
    kind = kinds.pop() if len(kinds) == 1 else None
    if kind == "lm" and set(graphs) == {"step"}:
        return OnnxLM(graphs["step"], config)
    if kind == "seq2seq" and set(graphs) == {"encoder", "decoder"}:
        return OnnxSeq2Seq(graphs["encoder"], graphs["decoder"], config)
    if kind not in ("lm", "seq2seq") and len(graphs) == 1:
        graph = next(iter(graphs.values()))
        graph.config = config
        return graph
    raise GraphMismatch(f"its ONNX graphs are not a set it can run ({', '.join(f.name for f in files.values())})")


def _why_not_onnx(path, meta: dict, device) -> str | None:
    if str(device or "cpu") != "cpu":
        return f"device {device} (ONNX Runtime runs here on the CPU only)"
    if onnxruntime_version() is None:
        return "onnxruntime is not installed"
    if not onnx_files(path, meta) and not meta.get("onnx_sha256"):
        return f"{Path(path).name} has no ONNX graphs (make them with: seqkit export-onnx {path})"
    return None


def _notice(path: Path, why: str) -> None:
    """One line on stderr: the graphs are there but cannot serve, so torch does."""
    import sys

    print(f"Warning: {path.name}: {why}; running it on torch instead "
          f"(remake the graphs with: seqkit export-onnx {path})", file=sys.stderr)


def _check_weights(path: Path, meta: dict) -> None:
    """The weights file the graphs were made from is there and intact (its recorded SHA-256)."""
    import hashlib

    from seqkit.errors import CheckpointError

    name = meta["weights"]
    try:
        blob = (path.parent / name).read_bytes()
    except OSError:
        raise CheckpointError(f"{path}: its weights file {name} is missing") from None
    digest = meta.get("weights_sha256")
    if digest and hashlib.sha256(blob).hexdigest() != digest:
        raise CheckpointError(f"{path}: its weights file {name} is corrupt (checksum mismatch)")


def load_for_inference(path, device="cpu", expect_task: str | None = None, threads: int | None = None,
                       batch: int = 1):
    """The checkpoint at ``path`` ready to run, on ONNX Runtime when it can (see the module).

    ``threads``: intra-op threads for its sessions, or for torch on the CPU (``--threads``);
    ``None`` leaves torch's setting as it is and gives the sessions one; ``0`` chooses for
    ``batch`` rows (:func:`pick_threads`). The choice is ``ckpt.threads``."""
    from seqkit.errors import CheckpointError
    from seqkit.io.checkpoints import Checkpoint, checkpoint_tokenizer, load_checkpoint, read_meta

    setting = backend_setting()
    path = Path(path)
    meta = read_meta(path)
    if expect_task and meta.get("task") and meta["task"] != expect_task:
        raise CheckpointError(f"{path} is a checkpoint for the {meta['task']!r} task, not for {expect_task!r}")
    parameters = meta.get("parameters") if isinstance(meta.get("parameters"), int) else 0
    n_threads = None if threads is None else pick_threads(threads, batch, parameters)
    # ``auto``: ONNX Runtime on the CPU where the model has graphs (the small models that have them
    # answer fastest there, and no torch is imported to look for a GPU); else torch's own choice
    onnx_device = "cpu" if str(device).strip().lower() == "auto" else device
    why = "SEQKIT_BACKEND=torch" if setting == "torch" else _why_not_onnx(path, meta, onnx_device)
    broken = False  # graphs that are there but cannot serve: say so (a model without any: silently)
    if why is None:
        _check_weights(path, meta)  # a corrupt checkpoint is one error on either backend
        try:
            files = checked_onnx_files(path, meta)
            model = _runner(files, SimpleNamespace(**meta["config"]), meta, n_threads or 1)
        except GraphMismatch as exc:
            why, broken = str(exc), True
        except Exception as exc:  # an unreadable graph or an operator this runtime lacks: use torch
            detail = " ".join(str(exc).split())[:160]
            why, broken = f"ONNX Runtime cannot run its graphs ({type(exc).__name__}: {detail})", True
    if why is not None:
        if setting == "onnx":
            raise SeqkitError(f"SEQKIT_BACKEND=onnx, but {path}: {why}")
        if broken:
            _notice(path, why)
        if str(device).strip().lower() == "auto":
            from seqkit.device import pick_device

            device = pick_device("auto")
        ckpt = load_checkpoint(path, device, expect_task=expect_task)
        ckpt.backend = "torch"
        if n_threads and str(device) == "cpu":
            import torch

            torch.set_num_threads(n_threads)
            ckpt.threads = n_threads
        return ckpt
    return Checkpoint(model, checkpoint_tokenizer(meta, path), meta, path, None, model.config, backend="onnx",
                      threads=n_threads or 1)


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
