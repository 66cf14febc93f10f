"""``seqkit music ...``: generate, train, eval, score, render, inspect, piano-roll, tokenize.

Imports torch and the MIDI libraries inside the commands only (``seqkit --help`` stays fast).
``train`` is seqkit's train kit with this task's recipe (``training.py``), ``eval`` the eval kit
(``evaluation.py``), ``generate`` a registered generator (``generator.py``); ``--model`` takes
any music checkpoint (name or path), ``--dataset`` any registered music dataset, ``--tokenizer``
any registered music tokenizer (see ``sources.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqkit import JsonOption, SeqkitError, check_writable, eval_command, generator_command, train_command

from .evaluation import MUSIC_EVAL
from .generator import MUSIC, show_pieces
from .infill import MUSIC_INFILL, show_infill
from .loading import DEFAULT_MODEL, TASK
from .training import MUSIC_TRAINING

music_app = typer.Typer(
    help="Piano performance MIDI: train a Music Transformer (or any seqkit LM) on MAESTRO or a "
         "MIDI folder, continue a primer, render audio and piano rolls.",
    no_args_is_help=True,
)

def _emit(data: dict, as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    else:
        for line in lines:
            typer.echo(line)


# -- generate -----------------------------------------------------------------------------------

music_app.command("generate")(generator_command(MUSIC, show=show_pieces))
music_app.command("infill")(generator_command(MUSIC_INFILL, show=show_infill))


@music_app.command("primer")
def primer_command(
    out: Annotated[Path, typer.Argument(help="MIDI file to write.")] = Path("primer.mid"),
    as_json: JsonOption = False,
):
    """Write an example primer to continue: the first bars of Bach's Prelude in C (10 s)."""
    from .primer import write_example_primer

    check_writable(out, "OUT")
    if str(out) == "-" and as_json:
        raise SeqkitError("--json prints on standard output, which OUT - takes; give a file name or drop --json")
    done = write_example_primer(out)
    if str(out) == "-":  # stdout carries the MIDI file
        typer.echo(f"wrote the primer to stdout: {done['notes']} notes, {done['seconds']} s", err=True)
        return
    _emit(done, as_json, [f"wrote {done['out']}: {done['notes']} notes, {done['seconds']} s; "
                          f"continue it with: seqkit music generate --primer {out}"])


@music_app.command("composers")
def composers_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Checkpoint name or path.")] = DEFAULT_MODEL,
    as_json: JsonOption = False,
):
    """The composers (or folder labels) a conditioned model knows: music generate --composer NAME."""
    from seqkit import find_checkpoint, read_meta

    from .conditioning import info

    path = find_checkpoint(model, TASK)
    cond = info(read_meta(path))
    if cond is None:
        raise SeqkitError(f"{path.stem} is not conditioned on a composer or folder label (train one with "
                          "seqkit music train --condition composer)")
    _emit({"model": path.stem, "kind": cond["kind"], "values": list(cond["values"])}, as_json,
          [f"{path.stem}: {len(cond['values'])} {cond['kind']} values (music generate --composer NAME)"]
          + [f"  {v}" for v in cond["values"]])


# -- data ---------------------------------------------------------------------------------------

DatasetOpt = Annotated[str, typer.Option(
    "--dataset", help="Any registered music dataset: maestro, midi-folder, those other plugins add "
                      "... or auto (maestro if the folder has MAESTRO metadata, else midi-folder).")]
DatasetOptionOpt = Annotated[list[str] | None, typer.Option(
    "--dataset-option", help="A keyword of the dataset loader, key=value (repeatable), e.g. "
                             "program=25 (`seqkit plugins` lists the datasets).")]
TokenizerOpt = Annotated[str | None, typer.Option(
    "--tokenizer", help="Any registered music tokenizer: performance (default), remi, those other "
                        "plugins add ...")]
TokenizerOptionOpt = Annotated[list[str] | None, typer.Option(
    "--tokenizer-option", help="A tokenizer setting, key=value (repeatable), e.g. program=25.")]


@music_app.command()
def tokenize(
    data: Annotated[Path, typer.Option("--data", help="MAESTRO folder, MIDI folder or what --dataset reads.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The compressed token archive (.npz) to write.")],
    dataset: DatasetOpt = "auto",
    dataset_option: DatasetOptionOpt = None,
    tokenizer: TokenizerOpt = None,
    tokenizer_option: TokenizerOptionOpt = None,
    drums: Annotated[bool, typer.Option(help="Keep drum tracks (drum datasets).")] = False,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes (default: all cores).")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Only the first N files of each split (0 = all).")] = 0,
    as_json: JsonOption = False,
):
    """Tokenize a MIDI dataset (read with symusic, cached per file) into one compressed .npz archive
    (a progress bar on a terminal)."""
    if out.suffix != ".npz":
        raise SeqkitError("--out must end in .npz")
    check_writable(out, "--out")  # before the (long) tokenizing
    from .training import corpus_for_training

    corpus, _, _ = corpus_for_training(data, dataset, tokenizer, tokenizer_option, dataset_option, drums,
                                       limit=limit, workers=workers)
    corpus.save(out)
    summary = corpus.summary()
    _emit({"out": str(out), "bytes": out.stat().st_size, "splits": summary}, as_json,
          [f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)"]
          + [f"  {s}: {v['pieces']} pieces, {v['tokens']:,} tokens" for s, v in summary.items()])


# -- train --------------------------------------------------------------------------------------

music_app.command("train")(train_command(MUSIC_TRAINING))


# -- eval ---------------------------------------------------------------------------------------

music_app.command("eval")(eval_command(MUSIC_EVAL))


# -- score: a musical measure beside NLL ---------------------------------------------------------

@music_app.command("score")
def score_cmd(
    samples: Annotated[list[Path], typer.Argument(help="MIDI files or folders of them (e.g. generated pieces).")],
    reference: Annotated[Path | None, typer.Option(
        help="Real music to compare with: a MAESTRO folder (its --split) or any MIDI folder.")] = None,
    split: Annotated[str, typer.Option(help="The MAESTRO split of --reference.")] = "test",
    seconds: Annotated[float | None, typer.Option(min=0.1, help="Only the first N seconds of every piece.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most N pieces of each set (0 = all).")] = 200,
    as_json: JsonOption = False,
):
    """Musical features of each piece (MusPy's definitions: pitch-class entropy, scale consistency,
    in-key rate, polyphony, notes/s, inter-onset intervals, pitch range, velocity spread, empty-beat
    rate) and, with --reference, how close the set is to real music per feature (overlapping area
    and KL of kernel density estimates, as MGEval). See docs/music.md, "A musical measure"."""
    from .features import json_safe, score_lines, score_music

    if split not in ("train", "validation", "test"):
        raise SeqkitError(f"--split must be train, validation or test, not {split}")
    res = score_music(samples, reference, split, seconds, limit)
    _emit(json_safe(res), as_json, score_lines(res))


# -- render / inspect / piano-roll --------------------------------------------------------------

def _midi_arg(path: Path):
    """A MIDI file as a ``symusic.Score`` (one ``Error:`` line when unreadable)."""
    from .midi_read import load_midi

    return load_midi(path)


@music_app.command()
def render(
    midi: Annotated[Path, typer.Argument(help="MIDI file to render.")],
    wav: Annotated[Path, typer.Option(help="WAV file to write.")] = Path("out.wav"),
    soundfont: Annotated[Path | None, typer.Option(help="SoundFont (.sf2); default: pretty_midi's bundled GM font.")] = None,
    as_json: JsonOption = False,
):
    """Render MIDI to WAV with FluidSynth (sine-wave fallback without the FluidSynth library)."""
    from .midi_read import load_pretty_midi
    from .render import write_wav

    check_writable(wav, "--wav")  # before the (long) synthesis
    if str(wav) == "-" and as_json:
        raise SeqkitError("--json prints on standard output, which --wav - takes; give a file name or drop --json")
    pm = load_pretty_midi(midi)  # synthesis is pretty_midi's (FluidSynth or sine waves)
    if not any(i.notes for i in pm.instruments):
        raise SeqkitError(f"{midi} has no notes")
    res = write_wav(pm, wav, soundfont)
    line = f"wrote {res['wav']}: {res['seconds']} s, {res['synth']}"
    if str(wav) == "-":
        typer.echo(line.replace("wrote -", "wrote the WAV to stdout"), err=True)
    else:
        _emit(res, as_json, [line])


@music_app.command()
def inspect(
    midi: Annotated[Path, typer.Argument(help="MIDI file.")],
    drums: Annotated[bool, typer.Option(help="Count drum tracks in the token stream.")] = False,
    as_json: JsonOption = False,
):
    """Instruments, notes, length and performance-token count of a MIDI file."""
    from .midi_read import end_seconds, instrument_name, score_tracks
    from .tokenizer import PerformanceTokenizer, midi_notes

    score = _midi_arg(midi)
    tok = PerformanceTokenizer(drums=drums)
    insts = [{"name": t.name, "program": t.program, "drum": t.is_drum, "notes": len(t.notes),
              "instrument": "drums" if t.is_drum else instrument_name(t.program),
              "pedal_events": len(t.pedal_times)} for t in score_tracks(score) if len(t.notes)]
    notes = midi_notes(score, drums=drums, sustain=tok.sustain)
    ids = tok.encode_notes(notes)
    length = end_seconds(score)
    res = {"file": str(midi), "seconds": round(length, 2), "instruments": insts,
           "notes": sum(i["notes"] for i in insts), "tokens": len(ids),
           "tokens_per_second": round(len(ids) / length, 1) if length else 0.0,
           "resolution": int(score.tpq)}
    lines = [f"{midi}: {res['seconds']} s, {res['notes']} notes, {res['tokens']} performance tokens "
             f"({res['tokens_per_second']}/s)"]
    lines += [f"  {'drums' if i['drum'] else i['instrument']:<28} {i['notes']:>6} notes"
              + (f", {i['pedal_events']} pedal events" if i["pedal_events"] else "") for i in insts]
    if not ids:
        lines.append("  (no notes in the token stream" + ("" if drums else "; drum tracks are skipped without --drums") + ")")
    _emit(res, as_json, lines)


@music_app.command("piano-roll")
def piano_roll_cmd(
    midi: Annotated[Path, typer.Argument(help="MIDI file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG to write.")] = Path("roll.png"),
    seconds: Annotated[float | None, typer.Option(min=0.1, help="Draw only the first N seconds.")] = None,
    drums: Annotated[bool, typer.Option(help="Include drum tracks.")] = False,
):
    """Draw a piano roll (pitch over time, colour = velocity, sustain applied) as PNG."""
    from .render import write_piano_roll
    from .tokenizer import midi_notes

    check_writable(out, "--out")  # before reading and drawing (a long piece draws for a minute)
    score = _midi_arg(midi)
    notes = midi_notes(score, drums=drums)
    if len(notes) == 0:
        notes = midi_notes(score, drums=True)
    if len(notes) == 0:
        raise SeqkitError(f"{midi} has no notes")
    write_piano_roll(notes, out, title=midi.name, max_seconds=seconds)
    typer.echo("wrote the PNG to stdout" if str(out) == "-" else f"wrote {out}", err=str(out) == "-")
