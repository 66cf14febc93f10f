"""``seqkit music ...``: generate, train, eval, render, inspect, piano-roll, tokenize.

Imports torch and the MIDI libraries inside the commands only (``seqkit --help`` stays fast).
``--model`` takes any registered language-model type for ``train`` (``music-transformer``,
``compressive`` ...) and any music checkpoint (name or path) for ``generate``/``eval``;
``--dataset`` any registered music dataset, ``--tokenizer`` any registered music tokenizer
(see ``sources.py``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer

from seqkit import SeqkitError, check_writable, generator_command, train_command
from seqkit.options import DeviceOption, JsonOption

from .generator import MUSIC, show_pieces
from .training import MUSIC_TRAINING

music_app = typer.Typer(
    help="Piano performance MIDI: train a Music Transformer (or any seqkit LM) on MAESTRO or a "
         "MIDI folder, continue a primer, render audio and piano rolls.",
    no_args_is_help=True,
)

DEFAULT_MODEL = "music-transformer"

TASK = "music"



def _info(msg: str) -> None:
    from seqkit import info

    info(msg)


def _emit(data: dict, as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    else:
        for line in lines:
            typer.echo(line)


# -- models -------------------------------------------------------------------------------------

def load_music_model(spec: str | None, device: str = "auto"):
    """A loaded music checkpoint (``seqkit.Checkpoint``) from a name or a path."""
    from seqkit import CheckpointError, find_checkpoint, list_checkpoints, load_checkpoint, pick_device

    spec = spec or DEFAULT_MODEL
    try:
        path = find_checkpoint(spec, TASK)
    except CheckpointError:
        # a plugin may ship music checkpoints under its own task (e.g. the compressive plugin)
        rows = [r for r in list_checkpoints(None) if r["name"] == spec and r.get("task") == TASK]
        if not rows:
            raise
        path = Path(rows[0]["path"])
    ckpt = load_checkpoint(path, device=pick_device(device), expect_task=TASK)
    from .sources import TOKENIZER_NEEDS

    missing = [m for m in TOKENIZER_NEEDS if not hasattr(ckpt.tokenizer, m)]
    if missing:
        kind = getattr(ckpt.tokenizer, "type", type(ckpt.tokenizer).__name__)
        raise SeqkitError(f"{path}: its tokenizer ({kind}) is not a music tokenizer (no {', '.join(missing)})")
    model_vocab = getattr(getattr(ckpt.model, "config", None), "vocab_size", None)
    tok_vocab = getattr(ckpt.tokenizer, "vocab_size", None)
    if model_vocab is not None and tok_vocab is not None and model_vocab != tok_vocab:
        raise SeqkitError(f"{path}: its tokenizer has {tok_vocab} tokens but the model was built for {model_vocab}")
    return ckpt


# -- primer -------------------------------------------------------------------------------------

def primer_tokens(path: Path, tokenizer, seconds: float | None, n_tokens: int | None) -> tuple[list[int], dict]:
    """``[<bos>] + events`` of a primer file, cut to its first ``seconds`` / ``n_tokens``."""
    import numpy as np

    if not hasattr(tokenizer, "encode_notes"):
        return primer_tokens_generic(path, tokenizer, seconds, n_tokens)

    notes = tokenizer.notes(path)
    info = {"primer": str(path)}
    if len(notes) == 0 and not tokenizer.drums:
        notes = tokenizer.notes(path, drums=True)
        if len(notes):
            _info(f"{path} has only drum notes; using them as piano notes")
            info["drum_primer"] = True
    if len(notes) == 0:
        raise SeqkitError(f"{path} has no notes to continue")
    if seconds:
        notes = notes[notes[:, 0] < seconds]
        notes[:, 1] = np.minimum(notes[:, 1], seconds)
        if len(notes) == 0:
            raise SeqkitError(f"{path} has no notes in its first {seconds:g} s")
    ids = [tokenizer.bos_id] + tokenizer.encode_notes(notes)
    if n_tokens:
        ids = ids[: n_tokens]
    return ids, info


def primer_tokens_generic(path: Path, tokenizer, seconds: float | None, n_tokens: int | None) -> tuple[list[int], dict]:
    """The primer through any music tokenizer's ``encode`` (notes after ``seconds`` dropped first)."""
    from .midi_read import cut_seconds, load_midi

    score = load_midi(path)
    if seconds:
        score = cut_seconds(score, seconds)
    ids = tokenizer.encode(score)
    if not ids:
        raise SeqkitError(f"{path} has no notes to continue"
                          + (f" in its first {seconds:g} s" if seconds else "")
                          + f" (as the {getattr(tokenizer, 'type', 'model')} tokenizer reads it)")
    unk = getattr(tokenizer, "unk_id", None)
    info = {"primer": str(path)}
    if unk is not None and unk in ids:
        info["unknown_tokens"] = ids.count(unk)
        _info(f"{ids.count(unk)} of the primer's {len(ids)} tokens are not in the model's vocabulary (<unk>)")
    ids = [tokenizer.bos_id] + ids
    if n_tokens:
        ids = ids[: n_tokens]
    return ids, info


def cut_notice(prompt: list[int], limit: int, tok) -> str:
    """One line: a primer longer than the context is cut to its last part; how much, and how to
    choose another part."""
    told = f"{len(prompt):,} tokens"
    kept = f"{limit:,} tokens"
    if hasattr(tok, "token_seconds"):
        times = tok.token_seconds(prompt)
        told += f", {float(times[-1]):.1f} s"
        kept += f", from {float(times[-limit]):.1f} s on"
    return (f"the primer ({told}) is longer than the model's context: continuing its last {kept}; "
            f"to continue its beginning instead, give --primer-seconds S or --primer-tokens N")


# -- generate -----------------------------------------------------------------------------------

def cpu_threads(model, batch: int) -> None:
    """One thread for small-batch sampling on the CPU (unless OMP_NUM_THREADS says otherwise):
    one-token matmuls are too small to share, and on a busy machine extra threads spin-wait
    (measured here: 512 tokens in 12.8 s on one thread, 165 s on two, load average 13)."""
    import torch

    if next(model.parameters()).device.type == "cpu" and batch <= 4 and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)


music_app.command("generate")(generator_command(MUSIC, show=show_pieces))


@music_app.command("primer")
def primer_command(
    out: Annotated[Path, typer.Argument(help="MIDI file to write.")] = Path("primer.mid"),
    as_json: JsonOption = False,
):
    """Write an example primer to continue: the first bars of Bach's Prelude in C (10 s)."""
    from .primer import write_example_primer

    check_writable(out, "OUT")
    done = write_example_primer(out)
    _emit(done, as_json, [f"wrote {done['out']}: {done['notes']} notes, {done['seconds']} s; "
                          f"continue it with: seqkit music generate --primer {out}"])


# -- data ---------------------------------------------------------------------------------------

DatasetOpt = Annotated[str, typer.Option(
    "--dataset", help="Any registered music dataset: maestro, midi-folder, lakh-clean-midi (compressive plugin) "
                      "... or auto (maestro if the folder has MAESTRO metadata, else midi-folder).")]
DatasetOptionOpt = Annotated[list[str] | None, typer.Option(
    "--dataset-option", help="A keyword of the dataset loader, key=value (repeatable), e.g. "
                             "program=25, genres=genres.csv, per_genre=50 for lakh-clean-midi.")]
TokenizerOpt = Annotated[str | None, typer.Option(
    "--tokenizer", help="Any registered music tokenizer: performance (default), notes-chords (compressive "
                        "plugin) ...")]
TokenizerOptionOpt = Annotated[list[str] | None, typer.Option(
    "--tokenizer-option", help="A tokenizer setting, key=value (repeatable), e.g. program=25 for notes-chords.")]


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

@music_app.command("eval")
def evaluate(
    model: Annotated[str | None, typer.Option("--model", "-m", help="Checkpoint name or path.")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="MAESTRO folder, MIDI folder or .npz (default: what the model was trained on).")] = None,
    dataset: Annotated[str, typer.Option(
        "--dataset", help="Any registered music dataset, or auto: the model's own dataset and options when "
                          "--data is what it was trained on, else maestro/midi-folder by the folder.")] = "auto",
    dataset_option: DatasetOptionOpt = None,
    split: Annotated[str, typer.Option(help="validation or test.")] = "validation",
    seq_len: Annotated[int | None, typer.Option("--seq-len", min=8, help="Window length (default: the training window).")] = None,
    streams: Annotated[bool | None, typer.Option(
        "--streams/--windows", help="Models that carry memories: score each piece from its start as one stream, "
        "memories carried from window to window (default for models trained on streams), or each window alone.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Windows (with --streams: pieces) per forward pass.")] = 8,
    max_windows: Annotated[int, typer.Option(min=0, help="Evaluate only the first N windows (0 = all).")] = 0,
    limit: Annotated[int, typer.Option(min=0, help="Use only the first N files of the split.")] = 0,
    device: DeviceOption = "auto",
    as_json: JsonOption = False,
):
    """NLL per token (nats), NLL per second of music and next-token accuracy over consecutive
    windows of every piece."""
    import math

    import torch

    from .windows import collate

    if split not in ("train", "validation", "test"):
        raise SeqkitError("--split must be train, validation or test")
    from .sources import open_corpus, pairs_to_dict

    ckpt = load_music_model(model, device)
    net, tok = ckpt.model, ckpt.tokenizer
    recorded = ckpt.meta.get("data") or {}
    if data is None:
        source = recorded.get("path") or recorded.get("source")
        if not source or not Path(source).exists():
            raise SeqkitError("give --data (the folder this model was trained on is not here)")
        data = Path(source)
    options = pairs_to_dict(dataset_option, "--dataset-option")
    same_data = any(p and Path(p).resolve() == Path(data).resolve()
                    for p in (recorded.get("path"), recorded.get("source")))
    if same_data and recorded.get("dataset") not in (None, "auto", "folder"):
        if dataset == "auto":
            dataset = recorded["dataset"]
        if dataset == recorded["dataset"] and not options:
            options = dict(recorded.get("options") or {})  # the selection the model was trained on
    corpus, _, _ = open_corpus(data, dataset, tok, options, splits=(split,), limit=limit)
    seq_len = (seq_len or ckpt.extra.get("eval_seq_len") or ckpt.extra.get("seq_len")
               or getattr(net.config, "max_len", None) or 512)
    streams = bool(ckpt.extra.get("streams")) if streams is None else streams
    from seqkit import carries_memory

    if streams and not carries_memory(net):
        raise SeqkitError(f"--streams needs a model that carries memories; {type(net).__name__} does not")
    from .scoring import count_windows, score, stream_batches, window_batches

    if streams:
        if not corpus.arrays(split):
            raise SeqkitError(f"{corpus.source or data} has no pieces in split {split!r}")
        seg = getattr(net, "memory_segment", 1)
        seq_len = -(-seq_len // seg) * seg  # whole segments, so that every window reads on
        batches = stream_batches(corpus.arrays(split), seq_len, batch_size, tok.pad_id)
        n_all = count_windows(corpus.arrays(split), seq_len)
    else:
        ds = corpus.dataset(split, seq_len, random_windows=False)
        batches = window_batches(ds, batch_size, collate)
        n_all = len(ds)
    n = min(n_all, max_windows) if max_windows else n_all
    dev = next(net.parameters()).device
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast("cpu", enabled=False)
    t0 = time.perf_counter()
    from seqkit import progress_bar

    unk_id = getattr(tok, "unk_id", None)
    with amp, progress_bar() as bar:
        task = bar.add_task(f"eval {split}", total=n)
        s = score(net, batches, n, unk_id, on_batch=lambda k: bar.advance(task, k), memory=streams)
    count, unknown = s["tokens"], s["unknown"]
    nll = s["nll_sum"] / max(count, 1)
    res = {"model": str(ckpt.path), "split": split, "pieces": len(corpus.split(split)), "windows": s["windows"],
           "seq_len": seq_len, "streams": streams, "tokens": count, "nll": round(nll, 4), "perplexity": round(math.exp(nll), 3),
           "accuracy": round(s["correct"] / max(count, 1), 4), "seconds": round(time.perf_counter() - t0, 1)}
    how = " (each piece one stream, memories carried)" if streams else ""
    lines = [f"{split}: NLL {res['nll']:.4f} nats/token (perplexity {res['perplexity']:.2f}), "
             f"accuracy {res['accuracy']:.4f} over {count:,} tokens in {res['windows']} windows of {seq_len}{how}"]
    per_second = _per_second_of_music(corpus, split, tok, nll)
    if per_second:
        res.update(per_second)
        lines.append(f"  {res['nll_per_second']:.3f} nats per second of music ({res['tokens_per_second']:.1f} tokens "
                     f"per second over {res['music_seconds']:,.0f} s of music)")
    if unk_id is not None:  # a learned vocabulary: how much of the split it could not name
        res["unknown_fraction"] = round(unknown / max(count, 1), 4)
        lines.append(f"  {unknown:,} of the target tokens ({res['unknown_fraction']:.1%}) are <unk>: "
                     f"not in the vocabulary learned from the train split")
    _emit(res, as_json, lines)


def _per_second_of_music(corpus, split: str, tok, nll: float) -> dict:
    """NLL per second of music (nats per token x tokens per second over the split's pieces), the
    measure that compares tokenizers fairly; {} when the split's seconds are not known."""
    arrays = corpus.arrays(split)
    targets = sum(len(a) - 1 for a in arrays)  # every token after <bos> is a target
    music = corpus.seconds(split)
    if not music and hasattr(tok, "token_seconds"):  # an archive made before seconds were recorded
        music = float(sum(tok.token_seconds(a)[-1] for a in arrays if len(a)))
    if not music or not targets:
        return {}
    rate = targets / music
    return {"music_seconds": round(music, 2), "tokens_per_second": round(rate, 2),
            "nll_per_second": round(nll * rate, 4)}


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

    pm = load_pretty_midi(midi)  # synthesis is pretty_midi's (FluidSynth or sine waves)
    if not any(i.notes for i in pm.instruments):
        raise SeqkitError(f"{midi} has no notes")
    res = write_wav(pm, wav, soundfont)
    _emit(res, as_json, [f"wrote {res['wav']}: {res['seconds']} s, {res['synth']}"])


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

    score = _midi_arg(midi)
    notes = midi_notes(score, drums=drums)
    if len(notes) == 0:
        notes = midi_notes(score, drums=True)
    if len(notes) == 0:
        raise SeqkitError(f"{midi} has no notes")
    write_piano_roll(notes, out, title=midi.name, max_seconds=seconds)
    typer.echo(f"wrote {out}")
