"""``seqkit abc ...``: generate, train, sweep, heatmap, to-midi, eval.

Only typer and the standard library at module level: torch, music21 and matplotlib are imported
inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqkit import SeqkitError, check_writable, eval_command, generator_command, train_command
from seqkit.options import (
    DeviceOption,
    JsonOption,
    SeedOption,
    ThreadsOption,
    seed_option,
    set_threads,
)

from .evaluation import ABC_EVAL
from .generator import ABC, DEFAULT_MODEL, show_tunes
from .recipes import ABC_TRAINING

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


def load_abc_model(model: str, device: str):
    from seqkit import find_checkpoint, load_checkpoint, pick_device

    dev = pick_device(device)
    path = find_checkpoint(model, "abc")
    ckpt = load_checkpoint(path, device=dev, expect_task="abc")
    if ckpt.tokenizer is None or not hasattr(ckpt.tokenizer, "unknown"):
        raise SeqkitError(f"{path} is not a character-level abc model")
    vocab = getattr(ckpt.model.config, "vocab_size", None)
    if vocab is not None and ckpt.tokenizer.vocab_size != vocab:
        raise SeqkitError(f"{path}: its tokenizer has {ckpt.tokenizer.vocab_size} characters but the model "
                          f"was built for {vocab}")
    return ckpt, dev


def torch_generator(seed: int | None, device):
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(seed if seed is not None else torch.seed())
    return g


def _folder_target(path: Path | None, option: str) -> None:
    """An output folder that cannot take files fails before any work is done."""
    if path is not None:
        check_writable(path, option, folder=True)


def _write(path: Path, data: bytes) -> None:
    from seqkit import atomic_write_bytes

    atomic_write_bytes(path, data)


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
    from .data import load_tunes
    from .midi import abc_to_midi, pick_engine

    pick_engine(engine)
    if file.is_dir():
        raise SeqkitError(f"{file} is a folder; give one .abc file")
    tunes = load_tunes(file, fmt)
    target = out or file.with_suffix(".mid")
    if target.is_dir():  # --out DIR: the MIDI goes inside it, named after FILE
        target = target / file.with_suffix(".mid").name
    rows = []
    for i, tune in enumerate(tunes, 1):
        path = target if len(tunes) == 1 else target.with_name(f"{target.stem}_{i}{target.suffix or '.mid'}")
        conv = abc_to_midi(tune, engine)
        if conv.ok:
            _write(path, conv.midi)
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
    temperature: Annotated[float, typer.Option("--temperature", "-t", min=0.0, help="Temperature for --generate.")] = 1.0,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
    as_json: JsonOption = False,
):
    """Draw hidden units' activations over the characters of a tune, laid out like the text."""
    from .data import read_text
    from .generate import sample_tunes
    from .heatmap import activations, draw, header_scores
    from .sweep import parse_list

    if (text is None) == (not gen):
        raise SeqkitError("give exactly one of --text FILE or --generate")
    if not neurons and not find:
        raise SeqkitError("give --neurons 21,57 or --find K")
    if max_chars < 1 or width < 1:
        raise SeqkitError("--max-chars and --width must be at least 1")
    _folder_target(out, "--out")
    ckpt, dev = load_abc_model(model, device)
    units_in_model = getattr(ckpt.model.config, "hidden", None)
    if units_in_model is not None and find > units_in_model:
        raise SeqkitError(f"--find {find}: this model has only {units_in_model} units")
    if text is not None:
        content = read_text(text)
    else:
        s = sample_tunes(ckpt.model, ckpt.tokenizer, ckpt.extra.get("primer", "<start>\nX:"), 1,
                         temperature, 1000, torch_generator(seed, dev), dev)[0]
        content = s.text
    # --find ranks units on up to 20,000 characters; only --max-chars of them are drawn
    content = content[: max(max_chars, 20_000) if find else max_chars]
    acts = activations(ckpt.model, ckpt.tokenizer, content, dev)
    hidden = acts.shape[1]
    units = parse_list(neurons, int, "neurons") if neurons else []
    bad = [u for u in units if not 0 <= u < hidden]
    if bad:
        raise SeqkitError(f"--neurons {', '.join(map(str, bad))}: this model has units 0..{hidden - 1}")
    ranking = []
    if find:
        ranking = header_scores(acts, content)[:find]
        units += [r.unit for r in ranking if r.unit not in units]
    shown = content[:max_chars]
    files = []
    scores = {r.unit: r for r in ranking}
    for u in units:
        note = f", header-vs-body d={scores[u].score:+.2f}" if u in scores else ""
        files.append(str(draw(shown, acts[: len(shown), u], out / f"neuron_{u:03d}.png",
                              f"{ckpt.path.stem}: unit {u} of {hidden}{note}", width)))
    if as_json:
        typer.echo(json.dumps({"files": files, "units": units,
                               "ranking": [r.__dict__ for r in ranking]}, indent=2))
        return
    for r in ranking:
        _info(f"unit {r.unit:4d}: d={r.score:+.2f} (header mean {r.header_mean:+.2f}, body mean {r.body_mean:+.2f})")
    for f in files:
        _info(f"wrote {f}")


# ----------------------------------------------------------------------------- sweep

@abc_app.command()
def sweep(
    data: Annotated[Path | None, typer.Option("--data", help="Training tunes (default: the course train.txt).")] = None,
    val: Annotated[Path | None, typer.Option("--val", help="Validation tunes (default: the course val.txt, else 10% of --data).")] = None,
    fmt: FormatOption = "auto",
    model: Annotated[str, typer.Option("--model", help="Cells, comma-separated: lstm,gru,rnn.")] = "lstm",
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
    values = {"model": parse_list(model, str, "model"), "hidden": parse_list(hidden, int, "hidden"),
              "layers": parse_list(layers, int, "layers"), "dropout": parse_list(dropout, float, "dropout"),
              "optimizer": parse_list(optimizer, str, "optimizer"), "lr": parse_list(lr, float, "lr"),
              "batch_size": parse_list(batch_size, int, "batch_size"),
              "seq_len": parse_list(seq_len, int, "seq_len")}
    base = Settings(epochs=epochs, steps=steps, patience=patience, seed=seed, device=device)
    runs = plan(base, values, mode)
    _folder_target(out, "--out")
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
