"""``seqkit export-onnx``: write a checkpoint's ONNX graphs beside its weights."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from seqkit.options import JsonOption


def export_onnx_command(
    checkpoints: Annotated[list[str], typer.Argument(
        help="Checkpoint .json paths, or names of --task's checkpoints (user's first, then shipped).",
        show_default=False)],
    task: Annotated[str | None, typer.Option("--task", help="The task whose checkpoint names to look up.")] = None,
    int8: Annotated[bool | None, typer.Option(
        "--int8/--fp32", help="Dynamic int8 weights (half the size; measure the NLL first) or float32. "
                              "[default: what the checkpoint's graphs were, else fp32]",
        show_default=False)] = None,
    as_json: JsonOption = False,
):
    """Export checkpoints' ONNX graphs (run without torch on ONNX Runtime) beside their weights."""
    from seqkit.errors import SeqkitError
    from seqkit.io.checkpoints import find_checkpoint
    from seqkit.onnx.export import export_onnx

    rows = []
    for spec in checkpoints:
        is_path = spec.endswith(".json") or "/" in spec
        if not is_path and task is None:
            raise SeqkitError(f"{spec!r} is a name: give --task (e.g. --task names) or the .json path")
        path = find_checkpoint(spec, task or "")
        files = export_onnx(path, int8=int8)
        rows.append({"checkpoint": str(path), "files": [{"path": str(f), "bytes": f.stat().st_size} for f in files]})
        if not as_json:
            for f in files:
                typer.echo(f"{f}  ({f.stat().st_size / 1e6:.2f} MB)")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
