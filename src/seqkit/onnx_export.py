"""``export_onnx``: a checkpoint's step graphs as ONNX files beside its safetensors weights.

The graphs are named after the weights file they were made from (``gru-c59c22f42281.safetensors``
gives ``gru-c59c22f42281.step.onnx``, or ``.encoder.onnx`` and ``.decoder.onnx`` for seq2seq), so
retrained weights never meet an old graph. Core's model types have their graphs in
``seqkit.onnx_graphs``; a plugin's model class can offer its own with a method
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

from .errors import SeqkitError

OPSET = 17
TOLERANCE = 1e-4  # largest difference allowed between torch and ONNX Runtime on the example inputs


def graph_specs(model) -> dict | None:
    """The graphs of ``model`` (a core model type or one with ``onnx_graphs()``), else ``None``."""
    from .onnx_graphs import core_graphs

    graphs = core_graphs(model)
    if graphs is None and callable(getattr(model, "onnx_graphs", None)):
        graphs = model.onnx_graphs()
    return graphs


def export_onnx(path, check: bool = True, strict: bool = True) -> list[Path]:
    """Write the ONNX graphs of checkpoint ``path`` (``NAME.json``) beside its weights; returns the
    files written. A model type without graphs is a :class:`SeqkitError`; with ``strict=False``
    (``train``'s export) nothing is written then, nor when the export fails: the torch backend
    serves such a model."""
    if not strict:
        try:
            return export_onnx(path, check=check)
        except Exception:  # noqa: BLE001 - any failure leaves the checkpoint to torch
            return []
    import torch

    from .checkpoints import atomic_write_bytes, load_checkpoint

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise SeqkitError("exporting ONNX graphs needs the onnx package: pip install onnx") from None
    path = Path(path)
    ckpt = load_checkpoint(path, device="cpu")
    model = ckpt.model.float().eval()
    graphs = graph_specs(model)
    if not graphs:
        raise SeqkitError(f"{path}: model type {ckpt.meta['model_type']!r} has no ONNX export")
    stem = Path(ckpt.meta["weights"]).stem
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
        blob = _simplify(buf.getvalue())
        if check:
            _check(blob, spec, path, part)
        if spec.meta.get("quantize") == "int8":  # only where it measured as well (the model says)
            blob = _quantize_int8(blob)
            meta["quantize"] = "int8 dynamic, per channel (onnxruntime.quantization.quantize_dynamic)"
        blob = _finish(blob, meta)
        target = path.parent / f"{stem}.{part}.onnx"
        atomic_write_bytes(target, blob)
        written.append(target)
    _remove_stale(path, stem)
    return written


def _simplify(blob: bytes) -> bytes:
    """ONNX Runtime's basic optimizations done once here (constant folding, dead shape arithmetic):
    standard operators only, a third of the nodes, a faster start for every process that loads it."""
    import tempfile

    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "simplified.onnx"
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(out)
        opts.log_severity_level = 3
        ort.InferenceSession(blob, sess_options=opts, providers=["CPUExecutionProvider"])
        return out.read_bytes()


def _quantize_int8(blob: bytes) -> bytes:
    """Dynamic int8 weights, per output channel (activations quantized as they come): a graph's
    ``meta["quantize"] = "int8"`` asks for it, after the float graph has been checked against torch.
    About half the size of float16 storage; on the shipped music model MAESTRO validation NLL
    +0.0009 nats/token (docs/music.md), on the compressive one +0.017, so that one stays float."""
    import logging
    import tempfile

    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(blob)
        logging.disable(logging.WARNING)  # its advice to pre-process, on the root logger
        try:
            quantize_dynamic(src, out, per_channel=True, weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul"])
        finally:
            logging.disable(logging.NOTSET)
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


def _check(blob: bytes, spec, path: Path, part: str) -> None:
    """The graph gives the module's outputs on the example inputs (within ``TOLERANCE``)."""
    import numpy as np
    import torch

    from .inference import make_session

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
        if g.shape != w.shape or (w.size and float(np.abs(g - w).max()) > TOLERANCE):
            raise SeqkitError(f"{path}: the exported {part} graph disagrees with the model on {name}")


def _remove_stale(path: Path, stem: str) -> None:
    """Graphs of this checkpoint made from earlier weights (``NAME-<hash>.*.onnx``)."""
    for f in path.parent.glob(f"{path.stem}-*.onnx"):
        base = f.name.split(".")[0]
        rest = base[len(path.stem) + 1:]
        if base != stem and len(rest) == 12 and all(c in "0123456789abcdef" for c in rest):
            try:
                f.unlink()
            except OSError:
                pass

