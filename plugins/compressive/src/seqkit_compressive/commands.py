"""``seqkit compressive ...``: check a model configuration, select Lakh songs.

Training, generation and evaluation go through the music commands
(``seqkit music train --model compressive --set mem_len=1024 ...``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqkit import JsonOption, SeedOption, SeqkitError

compressive_app = typer.Typer(help="Compressive Transformer: model settings and the Lakh loader.",
                              no_args_is_help=True)


def parse_sets(items: list[str]) -> dict:
    values = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SeqkitError(f"--set takes key=value, not {item!r}")
        values[key.strip().replace("-", "_")] = value.strip()
    return values


@compressive_app.command("config")
def config_cmd(
    sets: Annotated[list[str] | None, typer.Option("--set", help="A config field, key=value (repeatable).")] = None,
    vocab_size: Annotated[int, typer.Option("--vocab-size", min=1, help="Vocabulary size (391: the performance tokenizer's).")] = 391,
    json_out: JsonOption = False,
):
    """Check a compressive configuration: resolved fields, memory per layer, parameters."""
    import dataclasses

    from seqkit import get_model_type

    mtype = get_model_type("compressive")
    config = mtype.make_config({"vocab_size": vocab_size, **parse_sets(sets or [])})
    model = mtype.build(config)
    c = config
    info = {
        "config": dataclasses.asdict(c),
        "parameters": sum(p.numel() for p in model.parameters()),
        "memory_layers": [i + 1 for i in model.memory_layers],
        "context": c.seg_len + (c.mem_len + c.cmem_len * c.cmem_ratio if model.memory_layers else 0),
        # what each batch row (and stream group) keeps between segments: the layer inputs of
        # mem_len + cmem_len slots in every memory layer
        "memory_slots_per_layer": c.mem_len + c.cmem_len if model.memory_layers else 0,
        "memory_bytes_per_row_fp32": 4 * c.n_embd * len(model.memory_layers) * (c.mem_len + c.cmem_len),
    }
    if json_out:
        typer.echo(json.dumps(info, indent=1))
        return
    for k, v in info["config"].items():
        typer.echo(f"{k:>14}: {v}")
    typer.echo(f"{'parameters':>14}: {info['parameters']:,}")
    typer.echo(f"{'memory layers':>14}: {info['memory_layers'] or 'none'}")
    typer.echo(f"{'memory':>14}: {info['memory_slots_per_layer']} slots per memory layer, "
               f"{info['memory_bytes_per_row_fp32'] / 2**20:.2f} MiB per batch row in fp32")
    typer.echo(f"{'context':>14}: {info['context']} tokens seen by the top memory layer "
               f"(segment + memory + compressed memory x ratio)")


@compressive_app.command("lakh")
def lakh_cmd(
    path: Annotated[Path, typer.Argument(help="Lakh MIDI folder (clean_midi, or its parent).")],
    program: Annotated[int | None, typer.Option("--program", help="Keep songs with this General MIDI program (0-based; 25 = steel acoustic guitar).")] = None,
    genres: Annotated[Path | None, typer.Option("--genres", help="CSV mapping artist or path to genre.")] = None,
    genre: Annotated[str | None, typer.Option("--genre", help="Keep these genres (comma-separated).")] = None,
    per_genre: Annotated[int | None, typer.Option("--per-genre", help="Sample N songs of each genre.")] = None,
    seed: SeedOption = None,
    json_out: JsonOption = False,
):
    """List the songs of a Lakh clean_midi folder that pass the filters."""
    from .lakh import load_lakh

    col = load_lakh(path, program=program, genres=genres, genre=genre, per_genre=per_genre,
                    seed=seed if seed is not None else 0)
    if json_out:
        typer.echo(json.dumps({**col.summary(),
                               "songs": [{"path": str(s.path), "artist": s.artist, "title": s.title,
                                          "genre": s.genre, "programs": list(s.programs)} for s in col.songs],
                               "skipped_files": [{"path": str(p), "reason": r} for p, r in col.skipped]},
                              indent=1))
        return
    for s in col.songs:
        typer.echo(f"{s.genre or '-'}\t{s.artist}\t{s.title}")
    typer.echo(f"{len(col.songs)} songs of {col.n_files} files; {len(col.skipped)} unreadable skipped; "
               f"by genre: {col.by_genre()}", err=True)
