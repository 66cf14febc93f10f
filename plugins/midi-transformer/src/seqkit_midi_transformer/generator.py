"""The ``music`` generator: continue a primer MIDI (or start from silence) with a music model,
as ``seqkit music generate`` and the Python API run it. Each piece comes back as MIDI bytes and,
when asked for, a WAV and a piano-roll PNG.

Importing this module is cheap (no torch): the run function imports what it needs.
"""

from __future__ import annotations

import time

from seqkit import (
    Example,
    FileOutput,
    Generator,
    Output,
    Param,
    Result,
    SeqkitError,
    count_param,
    device_param,
    model_param,
    seed_param,
    temperature_param,
    top_k_param,
    top_p_param,
)

from .bounds import AUDIO_PIECES, MAX_SECONDS

MAX_NEW_TOKENS = 20_000  # ~8 minutes of piano; ~6 minutes to sample on a laptop CPU
MAX_COUNT = 256

MUSIC = Generator(
    "music",
    "seqkit_midi_transformer.generator:continue_music",
    [
        Param("primer", "file", None, "MIDI file to continue (none: start from silence).",
              accept=(".mid", ".midi"), hint="seqkit music primer {value} writes an example one"),
        Param("primer_seconds", "float", None, "Use the primer's first N seconds.", min=0.01),
        Param("primer_tokens", "int", None, "Use the primer's first N tokens.", min=1),
        Param("tokens", "int", 1024, f"Tokens to generate (~40 per second of piano; at most {MAX_NEW_TOKENS:,}).",
              min=1, soft_max=4096, page_help=f"How much music to make: about 40 tokens a second of piano (at "
              f"most {MAX_NEW_TOKENS:,})."),
        Param("seconds", "float", None, "Generate this many seconds instead of --tokens.", min=0.1,
              page_help="Seconds of music to make instead of a number of tokens."),
        Param("max_seconds", "float", MAX_SECONDS, "Most seconds of music in a piece: a longer primer is refused "
              "(use its start with --primer-seconds), each piece and its WAV stop there, and one run renders "
              f"at most {AUDIO_PIECES} x this in all.", min=1.0,
              page_help="Longest piece, in seconds (a longer primer is refused)."),
        count_param(1, max=MAX_COUNT, help="Pieces to generate (one batch).", soft_max=8),
        temperature_param(),
        top_k_param(),
        top_p_param(),
        model_param("music-transformer", help="Checkpoint name or path (the default: the shipped one).",
                    task="music", page_help="Which trained model: music-transformer (the default), compressive "
                    "(long memory) or one you trained."),
        Param("continuation_only", "bool", False, "Write the continuation without the primer."),
        Param("soundfont", "file", None, "SoundFont (.sf2) for --wav.", accept=(".sf2",),
              page_help="SoundFont (.sf2) for the audio."),
        seed_param(),
        device_param(),
    ],
    task="music",
    description="Continue a primer MIDI (or start from nothing) with a trained music model.",
    command="music generate",
    examples=[Example("The Bach primer continued", {"tokens": 256, "seed": 1},
                      "A transformer continues the first bars of Bach's Prelude in C (the primer that "
                      "seqkit music primer writes).", files={"primer": lambda: _example_primer()})],
    files=[
        FileOutput("mid", ("--out", "-o"), "Output MIDI (with -n > 1: NAME_1.mid, NAME_2.mid ...; "
                   "likewise --wav and --piano-roll).", default="generated.mid"),
        FileOutput("wav", ("--wav",), "Also render audio to this WAV."),
        FileOutput("png", ("--piano-roll",), "Also draw a piano roll PNG."),
    ],
)


def _example_primer() -> tuple[str, bytes]:
    """The primer ``seqkit music primer`` writes, as a file's name and bytes."""
    import tempfile
    from pathlib import Path

    from .primer import write_example_primer

    with tempfile.TemporaryDirectory() as tmp:
        write_example_primer(Path(tmp) / "primer.mid")
        return "bach-prelude-primer.mid", (Path(tmp) / "primer.mid").read_bytes()


def _prompt(tok, net, primer, primer_seconds, primer_tokens, notes: list[str],
            max_seconds: float | None = None) -> tuple[list[int], dict]:
    from .commands import primer_tokens as read_primer

    if primer is None:
        for flag, value in (("--primer-seconds", primer_seconds), ("--primer-tokens", primer_tokens)):
            if value is not None:
                raise SeqkitError(f"{flag} needs --primer")
        return [tok.bos_id], {}
    prompt, info = read_primer(primer, tok, primer_seconds, primer_tokens, max_seconds=max_seconds)
    limit = getattr(net.config, "max_len", None)
    if limit and len(prompt) > limit:
        from .commands import cut_notice

        notes.append(cut_notice(prompt, limit, tok))
        prompt = prompt[-limit:]
    return prompt, info


def _sample(net, tok, x, n_new, temperature, top_k, top_p, gen, ctx):
    from seqkit import generate

    done = [0]

    def step(k: int = 1) -> None:
        done[0] += k
        if ctx is not None:
            ctx.progress(done[0], n_new, "generating tokens")

    input_only = [i for i in (getattr(tok, "pad_id", None), tok.bos_id) if i is not None]
    return generate(net, x, n_new, temperature=temperature, top_k=top_k or 0, top_p=top_p or 1.0,
                    stop_ids=(tok.eos_id,), suppress_ids=input_only, generator=gen, on_step=step)


def _files(tok, pm, notes, split_at, want, soundfont, title: str) -> tuple[dict, dict]:
    """The piece's MIDI and, where wanted, its WAV and piano roll, as bytes."""
    import tempfile
    from pathlib import Path

    from .tokenizer import write_midi

    files, meta = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        write_midi(pm, Path(tmp) / "piece.mid")
        files["mid"] = (Path(tmp) / "piece.mid").read_bytes()
        if "png" in want:
            from .render import write_piano_roll

            write_piano_roll(notes, Path(tmp) / "roll.png", title=title, split_at=split_at)
            files["png"] = (Path(tmp) / "roll.png").read_bytes()
    if "wav" in want:
        from .render import synthesize, wav_bytes

        audio, how = synthesize(pm, soundfont)
        files["wav"] = wav_bytes(audio)
        meta.update(wav_seconds=round(len(audio) / 44100, 2), synth=how)
    return files, meta


def continue_music(primer, primer_seconds, primer_tokens, tokens, seconds, count, temperature, top_k,
                   top_p, model, continuation_only, soundfont, seed, device, want=frozenset({"mid"}),
                   ctx=None, max_seconds=MAX_SECONDS) -> Result:
    import torch

    from seqkit import seed_everything

    from .bounds import check_audio_total, clip_piece
    from .commands import cpu_threads, load_music_model

    if "wav" in want and soundfont is not None:  # before any work
        from .render import check_soundfont

        check_soundfont(soundfont)
    seed_everything(seed)
    ckpt = load_music_model(model, device)
    cpu_threads(ckpt.model, count)
    tok, net = ckpt.tokenizer, ckpt.model
    if seconds is not None and not hasattr(tok, "token_seconds"):
        raise SeqkitError(f"the {getattr(tok, 'type', '')} tokenizer cannot measure seconds: use --tokens")
    dev = next(net.parameters()).device
    notes_for_user: list[str] = []
    prompt, info = _prompt(tok, net, primer, primer_seconds, primer_tokens, notes_for_user, max_seconds)
    n_new = tokens if seconds is None else int(min(seconds, 1e7) * getattr(tok, "tokens_per_second", 60)) + 64
    if n_new > MAX_NEW_TOKENS:  # hours of sampling, and memory for every token of every piece
        notes_for_user.append(f"generating {MAX_NEW_TOKENS:,} tokens, not {n_new:,} (the most one command "
                              "makes; continue from the result with --primer for more)")
        n_new = MAX_NEW_TOKENS
    x = torch.tensor([prompt] * count, dtype=torch.long, device=dev)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**31, (1,)).item()))
    t0 = time.perf_counter()
    new = _sample(net, tok, x, n_new, temperature, top_k, top_p, gen, ctx)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    new = new.tolist()
    split_at = None
    if primer is not None and not continuation_only and hasattr(tok, "token_seconds"):
        split_at = float(tok.token_seconds(prompt)[-1])
    pieces = []
    for i, row in enumerate(new):
        if tok.eos_id in row:
            row = row[: row.index(tok.eos_id)]
        if seconds is not None:
            row = [t for t, s in zip(row, tok.token_seconds(row)) if s <= seconds]
        ids = row if continuation_only else prompt + row
        pm, notes, cut = clip_piece(tok.decode_midi(ids), tok.decode_notes(ids), max_seconds)
        if cut:
            notes_for_user.append(f"piece {i + 1} stops at {max_seconds:g} s (--max-seconds)")
        if not len(notes):
            why = "the model ended it at once" if not row else f"its {len(row)} tokens hold no notes"
            notes_for_user.append(f"piece {i + 1} has no notes: {why}; another seed or a higher temperature "
                                  "usually gives one")
        pieces.append((row, pm, notes))
    if "wav" in want and max_seconds is not None:  # before any audio is made
        check_audio_total([pm.get_end_time() for _, pm, _ in pieces], max_seconds)
    outputs = []
    for i, (row, pm, notes) in enumerate(pieces):
        files, meta = _files(tok, pm, notes, split_at, want, soundfont, title=f"piece {i + 1}")
        outputs.append(Output(files=files, meta={
            "tokens": len(row), "notes": int(len(notes)),
            "seconds": round(float(notes[:, 1].max()) if len(notes) else 0.0, 2), **meta}))
    n_gen = sum(len(r) for r in new)
    info.update(model=str(ckpt.path), primer_tokens=len(prompt), generated_tokens=n_gen,
                seconds_taken=round(elapsed, 2), tokens_per_second=round(n_gen / max(elapsed, 1e-9), 1),
                device=str(dev))
    return Result(outputs, info, notes_for_user)


def show_pieces(result: Result) -> None:
    """What was written where, one line a file, and the speed."""
    import typer

    for o in result.outputs:
        m = o.meta
        if "mid" in o.saved:
            typer.echo(f"wrote {o.saved['mid']}: {m['notes']} notes, {m['seconds']} s ({m['tokens']} new tokens)")
        if "wav" in o.saved:
            typer.echo(f"wrote {o.saved['wav']}: {m['wav_seconds']} s, {m['synth']}")
        if "png" in o.saved:
            typer.echo(f"wrote {o.saved['png']}")
    r = result.meta
    typer.echo(f"generated {r['generated_tokens']} tokens in {r['seconds_taken']:.1f} s "
               f"({r['tokens_per_second']:.0f} tokens/s on {r['device']})")
