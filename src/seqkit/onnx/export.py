"""``export_onnx``: a checkpoint's step graphs as ONNX files beside its safetensors weights.

The graphs are named after the weights file they were made from (``gru-c59c22f42281.safetensors``
gives ``gru-c59c22f42281.step.onnx``, or ``.encoder.onnx`` and ``.decoder.onnx`` for seq2seq), so
retrained weights never meet an old graph. Each graph's SHA-256 is recorded in the checkpoint's
JSON (``onnx_sha256``), and ``load_for_inference`` runs only graphs that match it. Core's model
types have their graphs in ``seqkit.onnx.graphs``; a plugin's model class can offer its own with a method
``onnx_graphs() -> {part: GraphSpec}``. Weights that are exact in float16 (every shipped model) are
stored as float16 with a Cast, so a graph is about the size of the safetensors file; a graph whose
metadata asks for ``"quantize": "int8"`` gets dynamic int8 weights instead (``_quantize_int8``). Exporting
needs torch, onnx and onnxruntime; running needs only onnxruntime.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

from seqkit.errors import SeqkitError

OPSET = 17
TOLERANCE = 1e-4  # largest difference allowed between torch and ONNX Runtime on the example inputs


def graph_specs(model) -> dict | None:
    """The graphs of ``model`` (a core model type or one with ``onnx_graphs()``), else ``None``."""
    from seqkit.onnx.graphs import core_graphs

    graphs = core_graphs(model)
    if graphs is None and callable(getattr(model, "onnx_graphs", None)):
        graphs = model.onnx_graphs()
    return graphs


def export_onnx(path, check: bool = True, strict: bool = True, int8: bool | None = None) -> list[Path]:
    """Write the ONNX graphs of checkpoint ``path`` (``NAME.json``) beside its weights; returns the
    files written. A model type without graphs is a :class:`SeqkitError`; with ``strict=False``
    (``train``'s export) nothing is written then, nor when the export fails: the torch backend
    serves such a model.

    ``int8=True``: dynamic int8 weights (ONNX Runtime's ``quantize_dynamic``, per channel: MatMul,
    Gemm and LSTM weights; activations quantized on the fly), about half the size and faster at
    batch 1: the float32 graph is checked against the model first, then quantized (measure the
    int8 graph's NLL before shipping it: its rounding is not checked here).
    ``None`` keeps what the checkpoint's graphs were (``onnx_precision`` in its JSON), else fp32."""
    if not strict:
        try:
            return export_onnx(path, check=check, int8=int8)
        except Exception:  # noqa: BLE001 - any failure leaves the checkpoint to torch
            return []
    import torch

    from seqkit.io.checkpoints import atomic_write_bytes, load_checkpoint

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise SeqkitError("exporting ONNX graphs needs the onnx package: pip install 'seqkit[onnx]'") from None
    path = Path(path)
    ckpt = load_checkpoint(path, device="cpu")
    model = ckpt.model.float().eval()
    graphs = graph_specs(model)
    if not graphs:
        raise SeqkitError(f"{path}: model type {ckpt.meta['model_type']!r} has no ONNX export")
    stem = Path(ckpt.meta["weights"]).stem
    kept_int8 = ckpt.meta.get("onnx_precision") == "int8"
    any_int8 = False
    written = []
    for part, spec in graphs.items():
        spec.module.eval()  # a new wrapper module starts in training mode (dropout)
        buf = io.BytesIO()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shapes the graphs take as inputs anyway
            torch.onnx.export(spec.module, spec.inputs, buf, input_names=spec.input_names,
                              output_names=spec.output_names, dynamic_axes=spec.dynamic_axes,
                              opset_version=OPSET, dynamo=False, do_constant_folding=True)
        meta = {**spec.meta, "part": part, "weights_sha256": ckpt.meta.get("weights_sha256"),
                "model_type": ckpt.meta["model_type"]}
        # int8: asked for (--int8), kept from the checkpoint's graphs, or the model's own choice
        # (a graph spec's meta "quantize": "int8", where it measured as well: its MatMuls only)
        own = spec.meta.get("quantize") == "int8"
        keep_fp32 = spec.meta.get("quantize") == "fp32"  # the model keeps this graph float32 (measured)
        part_int8 = int8 if int8 is not None else (own or (kept_int8 and not keep_fp32))
        meta["precision"] = "int8" if part_int8 else "fp32"
        any_int8 = any_int8 or part_int8
        blob = _finish(_simplify(buf.getvalue(), spec.meta.get("optimize")), meta)
        if check:  # the float32 graph is the model's; int8 rounding is measured, not checked
            _check(blob, spec, path, part)
        if part_int8:
            blob = _quantize(_float32_weights(blob), ["MatMul"] if own else None, spec.meta.get("quantize_only"))
            if spec.meta.get("optimize"):  # the fusions again, now of the int8 operators too
                blob = _simplify(blob, spec.meta["optimize"])
            blob = _finish(blob, meta)
            if check:
                _check(blob, spec, path, part, shapes_only=True)
        target = path.parent / f"{stem}.{part}.onnx"
        atomic_write_bytes(target, blob)
        written.append(target)
    _remove_stale(path, stem)
    record_graphs(path, {part: f for part, f in zip(graphs, written)}, "int8" if any_int8 else "fp32")
    return written


def record_graphs(path, files: dict, precision: str | None = None) -> None:
    """Write each graph's SHA-256 into the checkpoint's JSON (``onnx_sha256``: part -> digest), which
    ``load_for_inference`` checks before it runs them, and their ``onnx_precision`` (fp32 or int8)
    when given; the rest of the JSON is left as it was."""
    from seqkit.generation.inference import file_sha256
    from seqkit.io.checkpoints import atomic_write_bytes

    path = Path(path)
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["onnx_sha256"] = {part: file_sha256(f) for part, f in sorted(files.items())}
    if precision:
        meta["onnx_precision"] = precision
    atomic_write_bytes(path, (json.dumps(meta, indent=1, sort_keys=False) + "\n").encode())


def _simplify(blob: bytes, level: str | None = None) -> bytes:
    """ONNX Runtime's basic optimizations done once here (constant folding, dead shape arithmetic):
    standard operators only, a third of the nodes, a faster start for every process that loads it.
    ``level="extended"`` (a graph spec's meta ``"optimize"``): also ONNX Runtime's CPU fusions
    (``Gelu``, ``FusedMatMul``, ``com.microsoft`` operators that only ONNX Runtime runs), for a
    graph made of many small operators (the compressive model's step: docs/compressive.md)."""
    import tempfile

    from seqkit.generation.inference import import_onnxruntime

    ort = import_onnxruntime()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "simplified.onnx"
        opts = ort.SessionOptions()
        opts.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED if level == "extended"
                                         else ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
        opts.optimized_model_filepath = str(out)
        opts.log_severity_level = 3
        ort.InferenceSession(blob, sess_options=opts, providers=["CPUExecutionProvider"])
        return out.read_bytes()


def _float32_weights(blob: bytes) -> bytes:
    """The graph with its float16-stored weights (``W__f16`` + Cast, from ``_finish``) as plain
    float32 initializers again, which the quantizer recognises as MatMul, Gemm and LSTM weights."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(blob)
    g = model.graph
    half = {i.name: i for i in g.initializer if i.name.endswith("__f16")}
    casts = [n for n in g.node if n.op_type == "Cast" and n.input and n.input[0] in half]
    keep = [i for i in g.initializer if i.name not in half]
    for n in casts:
        arr = numpy_helper.to_array(half[n.input[0]]).astype(np.float32)
        keep.append(numpy_helper.from_array(arr, n.output[0]))
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = [n for n in g.node if n not in casts]
    del g.node[:]
    g.node.extend(nodes)
    return model.SerializeToString()


def _quantize(blob: bytes, ops: list[str] | None = None, only: list[str] | None = None) -> bytes:
    """Dynamic int8 weights (per channel) for the graph's MatMul, Gemm and LSTM nodes (``ops``: only
    these operator types; the music models quantize their MatMuls alone: docs/music.md). ``only``:
    just the nodes whose names contain one of these strings (a graph spec's meta
    ``"quantize_only"``: the compressive model keeps its attention's inputs float32)."""
    import logging
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    nodes = None
    if only:
        nodes = [n.name for n in onnx.load_from_string(blob).graph.node
                 if n.op_type in (ops or ["MatMul", "Gemm", "LSTM"]) and any(s in n.name for s in only)]
        if not nodes:
            raise SeqkitError(f"no node to quantize matches {only}")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(blob)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its advice to pre-process the graph first, on every call
        try:
            quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=ops, nodes_to_quantize=nodes,
                             # float outputs where shape inference stops at ONNX Runtime's own operators
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        finally:
            root.setLevel(level)
        return out.read_bytes()


def _finish(blob: bytes, meta: dict) -> bytes:
    """Float16 storage for weights that are exact in float16 (with a Cast back), and metadata."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_from_string(blob)
    graph = model.graph
    casts, keep = [], []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            keep.append(init)
            continue
        arr = numpy_helper.to_array(init)
        half = arr.astype(np.float16)
        if arr.size < 64 or not np.array_equal(half.astype(np.float32), arr):
            keep.append(init)
            continue
        keep.append(numpy_helper.from_array(half, init.name + "__f16"))
        casts.append(helper.make_node("Cast", [init.name + "__f16"], [init.name], to=TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {n.domain for n in graph.node}
    opsets = [o for o in model.opset_import if o.domain in used or o.domain in ("", "ai.onnx")]
    del model.opset_import[:]
    model.opset_import.extend(opsets)  # not the runtime's own domains, which no node uses
    model.producer_name = "seqkit"
    onnx.helper.set_model_props(model, {"seqkit": json.dumps(meta)})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _check(blob: bytes, spec, path: Path, part: str, shapes_only: bool = False) -> None:
    """The graph gives the module's outputs on the example inputs (within ``TOLERANCE``; with
    ``shapes_only``, outputs of the right shapes and finite)."""
    import numpy as np
    import torch

    from seqkit.generation.inference import make_session

    sess = make_session(blob)
    names = {i.name for i in sess.get_inputs()}
    feeds = {n: t.numpy() for n, t in zip(spec.input_names, spec.inputs) if n in names}
    got = sess.run(None, feeds)
    spec.module.eval()  # export puts back the mode it found
    with torch.no_grad():
        want = spec.module(*spec.inputs)
    want = want if isinstance(want, tuple) else (want,)
    for name, g, w in zip(spec.output_names, got, want):
        w = w.numpy()
        if shapes_only and g.shape == w.shape and np.isfinite(g).all():
            continue
        if g.shape != w.shape or (w.size and float(np.abs(g - w).max()) > TOLERANCE):
            raise SeqkitError(f"{path}: the exported {part} graph disagrees with the model on {name}")


def _remove_stale(path: Path, stem: str) -> None:
    """Graphs of this checkpoint made from earlier weights (``NAME-<hash>.*.onnx``) whose weights
    file is gone (weights still there belong to another checkpoint: ``lstm-0.5.json`` names the
    weights ``lstm.json`` had before, and keeps their graph)."""
    for f in path.parent.glob(f"{path.stem}-*.onnx"):
        base = f.name.split(".")[0]
        rest = base[len(path.stem) + 1:]
        if (path.parent / f"{base}.safetensors").exists():
            continue
        if base != stem and len(rest) == 12 and all(c in "0123456789abcdef" for c in rest):
            try:
                f.unlink()
            except OSError:
                pass

