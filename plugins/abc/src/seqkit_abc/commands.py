"""``seqkit abc ...``: generate, train, sweep, heatmap, to-midi, eval.

Only typer and the standard library at module level: torch, music21 and matplotlib are imported
inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqkit import (
    DeviceOption,
    JsonOption,
    SeedOption,
    SeqkitError,
    TemperatureOption,
    ThreadsOption,
    check_writable,
    eval_command,
    generator_command,
    numbered,
    seed_option,
    set_threads,
    train_command,
)

from .evaluation import ABC_EVAL
from .generator import ABC, DEFAULT_MODEL, show_tunes
from .training import ABC_TRAINING

abc_app = typer.Typer(
    help="Folk tunes in ABC notation, one character at a time (LSTM/GRU/RNN), and ABC -> MIDI.",
    no_args_is_help=True,
)

ModelCkpt = Annotated[str, typer.Option("--model", "-m",
                                        help="Checkpoint name (see `seqkit models --task abc`) or path to its .json.")]
EngineOption = Annotated[str, typer.Option("--engine", help="ABC -> MIDI converter: auto (music21), music21 or abc2midi.")]
FormatOption = Annotated[str, typer.Option("--format", help="Tune file format: auto, course (<start>/<end> blocks) or abc (X: tunes).")]


def _info(msg: str) -> None:
    typer.echo(msg, err=True)


# ----------------------------------------------------------------------------- generate

abc_app.command("generate")(generator_command(ABC, show=show_tunes))


# ----------------------------------------------------------------------------- train

abc_app.command("train")(train_command(ABC_TRAINING))


# ----------------------------------------------------------------------------- to-midi

@abc_app.command("to-midi")
def to_midi(
    file: Annotated[Path, typer.Argument(help="An .abc file (or a course <start>/<end> file).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The .mid file, or an existing folder for FILE.mid (several tunes: STEM_N.mid). Default: next to FILE.")] = None,
    engine: EngineOption = "auto",
    fmt: FormatOption = "auto",
    as_json: JsonOption = False,
):
    """Convert ABC to MIDI offline (music21; abc2midi with --engine abc2midi when installed).

    Every tune that converts is written; if any tune fails, the command ends with one Error line
    saying how many failed and why, and exit code 2."""
    from seqkit import atomic_write_bytes

    from .data import load_tunes
    from .midi import abc_to_midi, pick_engine

    pick_engine(engine)
    if file.is_dir():
        raise SeqkitError(f"{file} is a folder; give one .abc file")
    tunes = load_tunes(file, fmt)
    target = out or file.with_suffix(".mid")
    if target.is_dir():  # --out DIR: the MIDI goes inside it, named after FILE
        target = target / file.with_suffix(".mid").name
    if str(target) == "-" and as_json:
        raise SeqkitError("--json prints on standard output, which --out - takes; give a file name or drop --json")
    paths = numbered(target, len(tunes), "mid")  # - or a device takes one tune only
    for path in paths:
        check_writable(path, "--out")  # before converting
    rows = []
    for i, (tune, path) in enumerate(zip(tunes, paths), 1):
        conv = abc_to_midi(tune, engine)
        if conv.ok:
            atomic_write_bytes(path, conv.midi)
            rows.append({"tune": i, "midi": str(path), "notes": conv.notes})
            if not as_json:
                _info(f"wrote {path} ({conv.notes} notes)")
        else:
            rows.append({"tune": i, "midi": None, "error": conv.error})
            if len(tunes) > 1:
                _info(f"tune {i}: cannot convert: {conv.error}")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    failed = [r for r in rows if not r["midi"]]
    if len(tunes) == 1 and failed:
        raise SeqkitError(f"cannot convert {file} to MIDI: {rows[0]['error']}")
    if failed:  # the others are written; the exit code still says that not all went well
        why = "; ".join(f"tune {r['tune']}: {r['error']}" for r in failed[:3]) + ("; ..." if len(failed) > 3 else "")
        raise SeqkitError(f"{len(failed)} of the {len(tunes)} tunes in {file} could not be converted "
                          f"({why}); the other {len(tunes) - len(failed)} were written")


# ----------------------------------------------------------------------------- eval

abc_app.command("eval")(eval_command(ABC_EVAL))


# ----------------------------------------------------------------------------- heatmap

@abc_app.command()
def heatmap(
    model: ModelCkpt = DEFAULT_MODEL,
    text: Annotated[Path | None, typer.Option("--text", help="Run this file's text through the model.")] = None,
    gen: Annotated[bool, typer.Option("--generate", help="Generate a tune (seeded) and use it.")] = False,
    neurons: Annotated[str | None, typer.Option("--neurons", help="Comma-separated hidden unit indices to draw, e.g. 21,57.")] = None,
    find: Annotated[int, typer.Option("--find", min=0, help="Rank units by how well they separate tune header from body; draw the top K.")] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNGs.")] = Path("abc-heatmaps"),
    max_chars: Annotated[int, typer.Option("--max-chars", help="Draw at most this many characters.")] = 800,
    width: Annotated[int, typer.Option("--width", help="Wrap lines at this many characters.")] = 64,
    temperature: TemperatureOption = 1.0,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
    as_json: JsonOption = False,
):
    """Draw hidden units' activations over the characters of a tune, laid out like the text."""
    from .heatmap import heatmaps

    done = heatmaps(model, text, gen, neurons, find, out, max_chars, width, temperature, seed, device)
    if as_json:
        typer.echo(json.dumps({**done, "ranking": [r.__dict__ for r in done["ranking"]]}, indent=2))
        return
    for r in done["ranking"]:
        _info(f"unit {r.unit:4d}: d={r.score:+.2f} (header mean {r.header_mean:+.2f}, body mean {r.body_mean:+.2f})")
    for f in done["files"]:
        _info(f"wrote {f}")


# ----------------------------------------------------------------------------- sweep

@abc_app.command()
def sweep(
    data: Annotated[Path | None, typer.Option("--data", help="Training tunes (default: the course train.txt).")] = None,
    val: Annotated[Path | None, typer.Option("--val", help="Validation tunes (default: the course val.txt, else 10% of --data).")] = None,
    fmt: FormatOption = "auto",
    arch: Annotated[str | None, typer.Option("--arch", help="Cells, comma-separated: lstm,gru,rnn. [default: lstm]")] = None,
    hidden: Annotated[str, typer.Option("--hidden", help="Hidden sizes, e.g. 150,200,250.")] = "150",
    layers: Annotated[str, typer.Option("--layers", help="Layer counts.")] = "1",
    dropout: Annotated[str, typer.Option("--dropout", help="Dropouts, e.g. 0,0.1,0.2,0.3.")] = "0",
    optimizer: Annotated[str, typer.Option("--optimizer", help="Optimizers, e.g. adam,rmsprop,adagrad.")] = "adam",
    lr: Annotated[str, typer.Option("--lr", help="Learning rates.")] = "4e-3",
    batch_size: Annotated[str, typer.Option("--batch-size", help="Batch sizes.")] = "32",
    seq_len: Annotated[str, typer.Option("--seq-len", help="Training slice lengths, e.g. 30,100,200.")] = "100",
    mode: Annotated[str, typer.Option("--mode", help="grid (every combination) or one-at-a-time (first values as the base, vary one parameter at a time).")] = "grid",
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epochs per run.")] = 5,
    steps: Annotated[int | None, typer.Option("--steps", help="Steps per run (with or instead of --epochs).")] = None,
    patience: Annotated[int, typer.Option("--patience", help="Early-stopping patience per run (0 = off).")] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Sweep folder: one run folder each, results.csv, results.md, sweep_*.png.")] = Path("runs/abc-sweep"),
    seed: Annotated[int, seed_option("Random seed (the same for every run).")] = 0,
    device: DeviceOption = "auto",
    threads: ThreadsOption = 0,
    as_json: JsonOption = False,
):
    """Run the hyperparameter study: a CSV, a results table and one curve plot per varied parameter."""
    from .data import course_data
    from .sweep import parse_list, plan, run_sweep, write_outputs
    from .training import Settings, load_corpus

    set_threads(threads)
    cells = arch or "lstm"
    values = {"model": parse_list(cells, str, "arch"), "hidden": parse_list(hidden, int, "hidden"),
              "layers": parse_list(layers, int, "layers"), "dropout": parse_list(dropout, float, "dropout"),
              "optimizer": parse_list(optimizer, str, "optimizer"), "lr": parse_list(lr, float, "lr"),
              "batch_size": parse_list(batch_size, int, "batch_size"),
              "seq_len": parse_list(seq_len, int, "seq_len")}
    base = Settings(epochs=epochs, steps=steps, patience=patience, seed=seed, device=device)
    runs = plan(base, values, mode)
    check_writable(out, "--out", folder=True)
    data, val = course_data(data, val)
    corpus = load_corpus(data, val, fmt, seed=seed)
    _info(f"{len(runs)} runs on {corpus.source['train_tunes']} training tunes")
    rows = run_sweep(runs, corpus, out, report=_info, progress=not as_json)
    result = write_outputs(rows, values, out)
    if as_json:
        typer.echo(json.dumps({**result, "runs": [{k: v for k, v in r.items() if k not in ("history", "settings")}
                                                  for r in rows]}, indent=2))
    else:
        typer.echo(result["markdown"], nl=False)
        _info(f"wrote {result['csv']}, {result['table']} and {len(result['plots'])} plot(s)")
