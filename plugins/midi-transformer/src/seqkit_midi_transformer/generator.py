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

from .bounds import AUDIO_PIECES, KEY_CHOICES, KEY_MASK, MAX_SECONDS

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
                    task="music", page_help="Which trained model: music-transformer (the default), another shipped one "
                    "or one you trained."),
        Param("key", "str", None, "Keep notes in this key, e.g. \"D minor\", \"F# major\"; auto: the primer's key "
              "(out-of-key note-ons are biased down by --key-strength).", choices=KEY_CHOICES,
              page_help="Keep the notes in a key (auto: the primer's key; empty: any notes)."),
        Param("key_strength", "float", 4.0, f"How strongly --key holds: a bias in nats (0-{KEY_MASK:g}); "
              f"{KEY_MASK:g} or more forbids out-of-key notes.", min=0.0, soft_max=KEY_MASK,
              page_help=f"How strongly the key holds: 0 not at all, {KEY_MASK:g} or more never leaves it."),
        Param("pitch_range", "str", None, "Only notes in LOW:HIGH, note names with octave (C4 = middle C) "
              "or MIDI numbers, e.g. C3:C6 or 48:84.", choices=("C3:C6", "C2:C7", "C4:C5", "A0:C8"),
              page_help="Lowest and highest note, e.g. C3:C6 (C4 is middle C) or MIDI numbers 48:84."),
        Param("velocity", "str", None, "Only velocities in LOW:HIGH (1-127), e.g. 40:90.",
              choices=("1:60", "40:90", "70:127"), page_help="Softest and loudest velocity, 1-127, e.g. 40:90."),
        Param("density", "float", None, "Steer toward N notes per second (e.g. 2 sparse, 10 busy).",
              min=0.0, above_min=True, soft_max=20, page_help="Notes per second to aim for (empty: the model's own)."),
        Param("composer", "str", None, "Condition on this composer (a model trained with --condition; "
              "seqkit music composers lists its values), e.g. Chopin.",
              page_help="Composer to imitate (a conditioned model: see seqkit music composers)."),
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
    from .primer import example_primer_file

    return example_primer_file()


def _prompt(tok, net, primer, primer_seconds, primer_tokens, notes: list[str],
            max_seconds: float | None = None) -> tuple[list[int], dict]:
    from .loading import primer_tokens as read_primer

    if primer is None:
        for flag, value in (("--primer-seconds", primer_seconds), ("--primer-tokens", primer_tokens)):
            if value is not None:
                raise SeqkitError(f"{flag} needs --primer")
        return [tok.bos_id], {}
    prompt, info = read_primer(primer, tok, primer_seconds, primer_tokens, max_seconds=max_seconds)
    limit = getattr(net.config, "max_len", None)
    if limit and len(prompt) > limit:
        from .loading import cut_notice

        notes.append(cut_notice(prompt, limit, tok))
        prompt = prompt[-limit:]
    return prompt, info


class SecondsStop:
    """``generate``'s stop callback for ``--seconds``: ends a row on the token that takes its music
    to ``seconds`` (time shifts counted as they are sampled), so no token is sampled to be cut off.
    Also counts progress (``on_step``). Rows: ``new`` as numpy or torch, only its last column read."""

    def __init__(self, tok, seconds: float | None, rows: int, on_step=None):
        import numpy as np

        self.tok, self.seconds, self.on_step = tok, seconds, on_step
        self.steps = 0  # tokens sampled per row
        self.now = np.zeros(rows)
        self.rows: list[list[int]] = [[] for _ in range(rows)]
        # a performance token's time is its own shift; other tokenizers: the row's time, recounted
        self.shift = None
        if getattr(tok, "type", None) == "performance":
            self.shift = np.array([float(tok.token_seconds([i])[0]) for i in range(tok.vocab_size)])

    def __call__(self, new):
        import numpy as np

        self.steps += 1
        if self.on_step is not None:
            self.on_step(1)
        if self.seconds is None:
            return np.zeros(len(self.now), dtype=bool)
        last = [int(t) for t in new[:, -1].tolist()]
        if self.shift is not None:
            self.now += self.shift[last]
        else:
            for r, t in enumerate(last):
                self.rows[r].append(t)
                self.now[r] = float(self.tok.token_seconds(self.rows[r])[-1])
        return self.now >= self.seconds - 1e-9


def _sample(ckpt, tok, prompt, count, n_new, temperature, top_k, top_p, seed, seconds, ctx, processors=None,
            cond: int | None = None):
    """The new tokens of each row (numpy or torch, as ``ckpt.backend``), each cut after its stop
    token or the token that reached ``seconds``, and how many tokens were sampled in all."""
    import numpy as np

    def progress(k: int = 1, done=[0]) -> None:  # noqa: B006 - a counter across calls
        done[0] += k
        if ctx is not None:
            ctx.progress(done[0], n_new, "generating tokens")

    stop = SecondsStop(tok, seconds, count, progress)
    input_only = [i for i in (getattr(tok, "pad_id", None), tok.bos_id) if i is not None]
    kw = dict(temperature=temperature, top_k=top_k or 0, top_p=top_p or 1.0, stop_ids=(tok.eos_id,),
              suppress_ids=input_only, stop_fn=stop, processors=processors or None)
    seed = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    if cond is not None:  # core's per-row conditioning (0: none)
        kw["cond"] = np.full(count, cond, dtype=np.int64)
    if ckpt.backend == "onnx":
        from seqkit import generate_numpy

        new = generate_numpy(ckpt.model, np.array([prompt] * count, dtype=np.int64), n_new,
                             rng=np.random.default_rng(seed), **kw).tolist()
    else:
        import torch

        from seqkit import generate

        dev = next(ckpt.model.parameters()).device
        if "cond" in kw:
            kw["cond"] = torch.as_tensor(kw["cond"], device=dev)
        gen = torch.Generator(device=dev)
        gen.manual_seed(seed)
        new = generate(ckpt.model, torch.tensor([prompt] * count, dtype=torch.long, device=dev), n_new,
                       generator=gen, **kw)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        new = new.tolist()
    return [_cut(row, tok, seconds) for row in new], stop.steps * count


def _cut(row: list[int], tok, seconds: float | None) -> list[int]:
    """A row up to its end: before its stop token, or through the token that reached ``seconds``
    (a finished row is padded with its last token). A performance piece's last time shift is
    shortened to end at ``seconds`` exactly: notes still sounding end there."""
    if tok.eos_id in row:
        row = row[: row.index(tok.eos_id)]
    if seconds is not None and row:
        import numpy as np

        times = np.asarray(tok.token_seconds(row))
        reached = np.nonzero(times >= seconds - 1e-9)[0]
        if len(reached):
            row = row[: int(reached[0]) + 1]
            if getattr(tok, "type", None) == "performance":
                from .tokenizer import STEPS_PER_SECOND, TIME_SHIFT

                over = int(round((float(times[reached[0]]) - seconds) * STEPS_PER_SECOND))
                if over > 0 and row[-1] - over >= TIME_SHIFT:
                    row[-1] -= over
    return row


def _files(tok, pm, notes, split_at, want, soundfont, title: str) -> tuple[dict, dict]:
    """The piece's MIDI and, where wanted, its WAV and piano roll, as bytes."""
    import tempfile
    from pathlib import Path

    from .midi import write_midi

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
                   ctx=None, max_seconds=MAX_SECONDS, key=None, key_strength=4.0, pitch_range=None,
                   velocity=None, density=None, composer=None) -> Result:
    from .bounds import check_audio_total, clip_piece
    from .controls import build, check_values
    from .loading import load_music_model

    controls = dict(key=key, key_strength=key_strength, pitch_range=pitch_range, velocity=velocity, density=density)
    check_values(**controls)

    if "wav" in want and soundfont is not None:  # before any work
        from .render import check_soundfont

        check_soundfont(soundfont)
    ckpt = load_music_model(model, device, inference=True)
    cond = None
    if composer is not None:
        from . import conditioning

        cond = conditioning.resolve(composer, conditioning.info(ckpt.meta), ckpt.path.stem)
        info_cond = {"composer": conditioning.info(ckpt.meta)["values"][cond - 1]}
    _seed_and_threads(ckpt, seed, count)
    tok, net = ckpt.tokenizer, ckpt.model
    if seconds is not None and not hasattr(tok, "token_seconds"):
        raise SeqkitError(f"the {getattr(tok, 'type', '')} tokenizer cannot measure seconds: use --tokens")
    notes_for_user: list[str] = _torch_notice(ckpt, device)
    prompt, info = _prompt(tok, net, primer, primer_seconds, primer_tokens, notes_for_user, max_seconds)
    n_new = _budget(tokens, seconds, tok, notes_for_user)
    processors, resolved = build(tok, **controls, start=len(prompt),
                                 primer_notes=tok.decode_notes(prompt) if key is not None else None)
    info.update(resolved)
    if cond is not None:
        info.update(info_cond)
    t0 = time.perf_counter()
    new, sampled = _sample(ckpt, tok, prompt, count, n_new, temperature, top_k, top_p, seed, seconds, ctx,
                           processors, cond=cond)
    elapsed = time.perf_counter() - t0
    split_at = None
    if primer is not None and not continuation_only and hasattr(tok, "token_seconds"):
        split_at = float(tok.token_seconds(prompt)[-1])
    pieces = []
    for i, row in enumerate(new):
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
            "seconds": round(float(notes[:, 1].max()) if len(notes) else 0.0, 2), **_reached(tok, row), **meta}))
    n_gen = sum(len(r) for r in new)
    info.update(model=str(ckpt.path), primer_tokens=len(prompt), generated_tokens=n_gen, sampled_tokens=sampled,
                seconds_taken=round(elapsed, 2), tokens_per_second=round(n_gen / max(elapsed, 1e-9), 1),
                device=_device_name(ckpt), backend=ckpt.backend)
    return Result(outputs, info, notes_for_user)


def _torch_notice(ckpt, device) -> list[str]:
    """One line when a model that could run on ONNX Runtime's CPU path cannot: relative attention."""
    import os

    if (ckpt.backend == "torch" and str(device).strip().lower() in ("cpu", "auto")
            and os.environ.get("SEQKIT_BACKEND", "").strip().lower() != "torch"
            and getattr(ckpt.model.config, "position", None) == "relative"):
        return ["this model uses relative attention, which has no ONNX graph: it runs on torch"]
    return []


def _seed_and_threads(ckpt, seed, count: int) -> None:
    """Seeds (torch's only on the torch backend: ONNX Runtime needs no torch) and, on torch, one
    CPU thread for small batches (the ONNX Runtime sessions run on one thread already)."""
    if ckpt.backend == "torch":
        from seqkit import seed_everything

        from .loading import cpu_threads

        seed_everything(seed)
        cpu_threads(ckpt.model, count)
    elif seed is not None:
        import random

        from seqkit import check_seed

        random.seed(check_seed(seed))


def _budget(tokens: int, seconds: float | None, tok, notes: list[str]) -> int:
    """Tokens to sample at most. With ``--seconds`` sampling stops when the music reaches them
    (``SecondsStop``): the budget is a bound, four times the tokens such music usually takes."""
    want = tokens
    if seconds is not None:
        want = int(min(seconds, 1e7) * getattr(tok, "tokens_per_second", 60)) + 64
    if want > MAX_NEW_TOKENS:  # hours of sampling, and memory for every token of every piece
        notes.append(f"generating {MAX_NEW_TOKENS:,} tokens, not {want:,} (the most one command "
                     "makes; continue from the result with --primer for more)")
        return MAX_NEW_TOKENS
    return want if seconds is None else min(MAX_NEW_TOKENS, 4 * want)


def _reached(tok, row: list[int]) -> dict:
    """The time the new tokens reach (their time shifts), where the tokenizer measures it."""
    if not row or not hasattr(tok, "token_seconds"):
        return {}
    return {"time_reached": round(float(tok.token_seconds(row)[-1]), 2)}


def _device_name(ckpt) -> str:
    if ckpt.backend == "onnx":
        return "cpu (onnxruntime)"
    return str(next(ckpt.model.parameters()).device)


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
