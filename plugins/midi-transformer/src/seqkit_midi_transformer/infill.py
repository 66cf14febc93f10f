"""The ``music-infill`` generator: rewrite a span of a piece so that it leads into what follows,
with any left-to-right music model (``seqkit music infill piece.mid --from 12 --to 20``).

1. The piece's notes are read as the performance tokenizer reads them (sustain pedal applied).
   Notes that start before ``--from`` are the *context*; a context note still sounding at
   ``--from`` is cut there (its rest is part of the gap). Notes that start at or after ``--to``
   are what *follows*; notes that start inside the gap are dropped.
2. ``--candidates`` N gaps are sampled in one batch after the context (``<bos>`` + its tokens, time
   shifts up to ``--from``); a candidate stops when its time reaches the gap's length. Its tokens
   are cut there (a time shift that crosses the end is shortened), every note still sounding gets
   its note-off at the end of the gap, and a candidate that stopped early (``<eos>``) is padded
   with silence to the gap's length.
3. Each candidate is scored by the model's NLL (nats per token) of the music that follows, its
   first ``--lookahead`` seconds (the real notes after ``--to``, re-encoded from time 0), given
   context + candidate (``score_candidates``: the context read once, its KV cache continued per
   candidate; the context is cut so that context, gap and look-ahead fit ``max_len``). The
   candidate with the lowest NLL is kept. The NLL of the same look-ahead given the piece's real
   gap is reported beside it (``original_nll``), as a yardstick.
4. The output is the context notes, the kept gap's notes (shifted to start at ``--from``) and the
   notes that follow, unchanged, written with the input's resolution and first tempo (so a
   constant-tempo input's notes outside the gap come back on the same ticks).

With ``--candidates 1`` this is a plain continuation of the gap (no look-ahead choice).

Where the checkpoint has ONNX graphs and the device is the CPU, sampling and scoring run on ONNX
Runtime without torch (``ckpt.backend == "onnx"``: ``generate_numpy``, and for the Music
Transformer its step graph over buffers, ``OnnxMusic``, the context read once and its buffers
repeated per candidate); ``SEQKIT_BACKEND=torch`` keeps torch, and a missing or broken graph falls
back to it with one notice line. The backends draw different random numbers (numpy's, torch's), so
a ``--seed`` samples other candidates on each; scored alike, the same candidates get the same
NLLs (within 1e-3 nats/token on float32 graphs) and the same choice.
Importing this module is cheap (no torch).
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
    device_param,
    model_param,
    seed_param,
    temperature_param,
    top_k_param,
    top_p_param,
)

MAX_CANDIDATES = 32
MAX_GAP_SECONDS = 60.0
TOKENS_PER_GAP_SECOND = 150  # sampling stops at the gap's end; this only bounds a model that never shifts time

MUSIC_INFILL = Generator(
    "music-infill",
    "seqkit_midi_transformer.infill:infill_music",
    [
        Param("piece", "file", None, "MIDI file with a span to rewrite.", required=True, argument=True,
              accept=(".mid", ".midi")),
        Param("start", "float", None, "Start of the gap (seconds into the piece).", required=True, min=0.0,
              flags=("--from",)),
        Param("end", "float", None, "End of the gap (seconds into the piece).", required=True, min=0.0,
              flags=("--to",)),
        Param("candidates", "int", 8, "Gaps to sample; the one under which the music after the gap is "
              "likeliest is kept (1 = a plain continuation).", min=1, max=MAX_CANDIDATES),
        Param("lookahead", "float", 4.0, "Seconds of the music after the gap that choose the candidate.",
              min=0.1, max=60.0),
        temperature_param(),
        top_k_param(),
        top_p_param(),
        model_param("music-transformer", help="Checkpoint name or path (the default: the shipped one).",
                    task="music"),
        seed_param(),
        device_param(),
    ],
    task="music",
    description="Rewrite the span between two times of a piece so that it leads into what follows.",
    command="music infill",
    examples=[Example("Two seconds of Bach rewritten", {"start": 4, "end": 6, "candidates": 4, "seed": 1},
                      "The model rewrites seconds 4 to 6 of the Bach primer four times and keeps the version "
                      "that leads best into what follows.", files={"piece": lambda: _example_piece()})],
    files=[FileOutput("mid", ("--out", "-o"), "Output MIDI.", default="infilled.mid")],
)


def _example_piece() -> tuple[str, bytes]:
    """The primer ``seqkit music primer`` writes (9.6 s of Bach), as a file's name and bytes."""
    from .primer import example_primer_file

    return example_primer_file()


def split_piece(notes, start: float, end: float):
    """``(context, follows)``: the notes that start before ``start`` (cut to end there) and those
    that start at or after ``end``."""
    import numpy as np

    context = notes[notes[:, 0] < start].copy()
    context[:, 1] = np.minimum(context[:, 1], start)
    return context, notes[notes[:, 0] >= end].copy()


def context_tokens(tok, context, start: float) -> list[int]:
    """``<bos>`` + the context's tokens + time shifts up to ``start``."""
    from .tokenizer import STEPS_PER_SECOND, shift_tokens

    ids = [tok.bos_id] + tok.encode_notes(context)
    reached = int(round(float(tok.token_seconds(ids)[-1]) * STEPS_PER_SECOND)) if len(ids) > 1 else 0
    shift_tokens(int(round(start * STEPS_PER_SECOND)) - reached, ids)
    return ids


def close_gap(row: list[int], steps: int, eos_id: int) -> list[int]:
    """A sampled gap cut to exactly ``steps`` time steps: tokens past the end dropped, a shift
    that crosses it shortened, note-offs for every note still sounding, silence to the end."""
    from .tokenizer import N_EVENTS, NOTE_OFF, NOTE_ON, TIME_SHIFT, VELOCITY, shift_tokens

    out, now, sounding = [], 0, set()
    for t in row:
        if t == eos_id:
            break
        if TIME_SHIFT <= t < VELOCITY:
            k = min(t - TIME_SHIFT + 1, steps - now)
            if k <= 0:
                break
            out.append(TIME_SHIFT + k - 1)
            now += k
            if now >= steps:
                break
            continue
        if t >= N_EVENTS:  # special tokens (suppressed while sampling, but be safe)
            continue
        if NOTE_ON <= t < NOTE_OFF:
            sounding.add(t - NOTE_ON)
        elif NOTE_OFF <= t < TIME_SHIFT:
            sounding.discard(t - NOTE_OFF)
        out.append(t)
    shift_tokens(steps - now, out)
    out += [NOTE_OFF + p for p in sorted(sounding)]
    return out


def gap_budget(steps: int) -> int:
    """The most tokens sampled for a gap of ``steps`` time steps."""
    return int(steps / 100 * TOKENS_PER_GAP_SECOND) + 64


class GapStop:
    """``generate_numpy``'s stop callback: a row is done when its time shifts reach ``steps``
    (counted as they are sampled)."""

    def __init__(self, rows: int, steps: int):
        import numpy as np

        from .tokenizer import TIME_SHIFT, VELOCITY

        self.steps = steps
        self.now = np.zeros(rows, dtype=np.int64)
        self.shift = np.zeros(VELOCITY + 1, dtype=np.int64)
        self.shift[TIME_SHIFT:VELOCITY] = np.arange(1, VELOCITY - TIME_SHIFT + 1)

    def __call__(self, new):
        last = new[:, -1]
        self.now += self.shift[last.clip(0, len(self.shift) - 1)]
        return self.now >= self.steps


def sample_gaps(net, tok, prompt: list[int], n: int, steps: int, sampling: dict, gen, on_step) -> list[list[int]]:
    """``n`` candidate gaps (each closed to ``steps`` time steps) after ``prompt``. ``net``: a torch
    model (``gen`` a ``torch.Generator``) or an ONNX Runtime one (``gen`` a ``numpy.random.Generator``)."""
    max_new = gap_budget(steps)
    input_only = [i for i in (tok.pad_id, tok.bos_id) if i is not None]
    if not _is_torch(net):
        import numpy as np

        from seqkit import generate_numpy

        x = np.array([prompt] * n, dtype=np.int64)
        new = generate_numpy(net, x, max_new, stop_ids=(tok.eos_id,), suppress_ids=input_only, rng=gen,
                             stop_fn=GapStop(n, steps), on_step=on_step, **sampling)
        return [close_gap(row, steps, tok.eos_id) for row in new.tolist()]
    import torch

    from seqkit import generate

    from .tokenizer import TIME_SHIFT, VELOCITY

    def reached(new):
        return torch.where((new >= TIME_SHIFT) & (new < VELOCITY), new - TIME_SHIFT + 1, 0).sum(1) >= steps

    dev = next(net.parameters()).device
    x = torch.tensor([prompt] * n, dtype=torch.long, device=dev)
    new = generate(net, x, max_new, stop_ids=(tok.eos_id,), suppress_ids=input_only, generator=gen,
                   stop_fn=reached, on_step=on_step, **sampling)
    return [close_gap(row, steps, tok.eos_id) for row in new.tolist()]


def _is_torch(net) -> bool:
    return callable(getattr(net, "parameters", None))


def _nll(logits, targets) -> float:
    """Mean cross-entropy (nats) of ``targets`` under numpy ``logits [n, V]``, in float64."""
    import numpy as np

    z = np.asarray(logits, dtype=np.float64)
    top = z.max(-1)
    lse = np.log(np.exp(z - top[:, None]).sum(-1)) + top
    return float((lse - z[np.arange(len(targets)), targets]).mean())


def lookahead_nll(net, before: list[int], after: list[int]) -> float:
    """Mean NLL (nats/token) of ``after`` given ``before`` (the last ``max_len`` tokens of both)."""
    limit = getattr(net.config, "max_len", None) or len(before) + len(after)
    after = after[: max(1, limit // 2)]  # leave room for context before the scored tokens
    seq = (before + after)[-limit:]
    n = len(after)
    if not _is_torch(net):
        import numpy as np

        logits, _ = net(np.array([seq], dtype=np.int64))
        return _nll(logits[0, -n - 1:-1], np.array(after))
    import torch
    import torch.nn.functional as F

    dev = next(net.parameters()).device
    x = torch.tensor([seq], dtype=torch.long, device=dev)
    with torch.no_grad():
        logits, _ = net(x)
    pred = logits[0, -n - 1:-1].float()
    return float(F.cross_entropy(pred, torch.tensor(after, device=dev)).item())


def score_candidates(net, prompt: list[int], gaps: list[list[int]], after: list[int], on_done=None,
                     chunk: int = 8) -> list[float]:
    """``lookahead_nll(net, prompt + gap, after)`` of every gap. A model with a sliding KV cache
    (torch's ``KVCache``, or the ONNX Runtime runner's buffers, ``OnnxMusic``) reads the shared
    prompt once and continues a copy of its cache per candidate (in batches of ``chunk``); other
    models, or a gap and look-ahead that leave no room for the prompt, score each candidate on its
    own."""
    limit = getattr(net.config, "max_len", None)
    longest = max(len(g) for g in gaps) + len(after)
    if _is_torch(net):
        from seqkit import KVCache

        cache = net.new_cache() if hasattr(net, "new_cache") else None
        shared = isinstance(cache, KVCache) and cache.sliding
    else:
        shared = getattr(net, "slides_itself", False) and hasattr(net, "tables")  # OnnxMusic
    if not after or not shared or not limit or longest >= limit // 2:
        out = []
        for g in gaps:
            out.append(lookahead_nll(net, prompt + g, after) if after else float("nan"))
            if on_done is not None:
                on_done(len(out))
        return out
    head = prompt[-(limit - longest):]
    if not _is_torch(net):
        return _score_onnx(net, head, gaps, after, on_done, chunk)
    import torch
    import torch.nn.functional as F

    dev = next(net.parameters()).device
    target = torch.tensor(after, device=dev)
    out = []
    with torch.no_grad():
        _, cache = net(torch.tensor([head], device=dev), cache=cache)
        k1, v1, kpos, pos = list(cache.k), list(cache.v), cache.kpos.clone(), cache.pos
        for i in range(0, len(gaps), chunk):
            rows = gaps[i:i + chunk]
            x = torch.tensor(_rows(rows, after), device=dev)
            cache.k = [k.expand(len(rows), -1, -1, -1).clone() for k in k1]
            cache.v = [v.expand(len(rows), -1, -1, -1).clone() for v in v1]
            cache.kpos, cache.pos = kpos.clone(), pos
            logits, _ = net(x, cache=cache)
            for r, g in enumerate(rows):
                # the logits before each look-ahead token: the last gap token's and the look-ahead's own
                pred = logits[r, len(g) - 1:len(g) - 1 + len(after)].float()
                out.append(float(F.cross_entropy(pred, target).item()))
                if on_done is not None:
                    on_done(len(out))
    return out


def _rows(rows: list[list[int]], after: list[int]) -> list[list[int]]:
    """Each gap followed by the look-ahead, padded to one width (the padding's logits are not read)."""
    width = max(len(g) for g in rows) + len(after)
    return [g + after + [after[-1]] * (width - len(g) - len(after)) for g in rows]


SCORE_TOKENS = 64  # tokens a graph call while scoring: smaller attention tensors (1.2 to 1.5x faster than whole rows)


def _score_onnx(net, head: list[int], gaps, after, on_done, chunk: int) -> list[float]:
    """``score_candidates`` on ONNX Runtime: the context's buffers once, repeated per candidate,
    then the candidates ``SCORE_TOKENS`` tokens a call."""
    import numpy as np

    target = np.array(after)
    _, state = net(np.array([head], dtype=np.int64))
    out = []
    for i in range(0, len(gaps), chunk):
        rows = gaps[i:i + chunk]
        x = np.array(_rows(rows, after), dtype=np.int64)
        st = state.repeat(len(rows))
        logits = np.concatenate([net(x[:, j: j + SCORE_TOKENS], cache=st)[0]
                                 for j in range(0, x.shape[1], SCORE_TOKENS)], axis=1)
        for r, g in enumerate(rows):
            out.append(_nll(logits[r, len(g) - 1:len(g) - 1 + len(after)], target))
            if on_done is not None:
                on_done(len(out))
    return out


def _checked_gap(notes, start: float, end: float, piece) -> float:
    if len(notes) == 0:
        raise SeqkitError(f"{piece} has no notes")
    if start >= end:
        raise SeqkitError(f"--from ({start:g} s) must be before --to ({end:g} s)")
    last = float(notes[:, 1].max())
    if end > last + 1e-9:
        raise SeqkitError(f"the gap {start:g}-{end:g} s is outside the piece, which ends at {last:.2f} s")
    if end - start > MAX_GAP_SECONDS:
        raise SeqkitError(f"the gap is {end - start:g} s long; at most {MAX_GAP_SECONDS:g} s are infilled at once")
    return last


def infill_music(piece, start, end, candidates, lookahead, temperature, top_k, top_p, model, seed, device,
                 want=frozenset({"mid"}), ctx=None) -> Result:
    import numpy as np

    from .loading import load_music_model
    from .midi_read import load_midi
    from .tokenizer import STEPS_PER_SECOND, midi_notes

    score = load_midi(piece)
    ckpt = load_music_model(model, device, inference=True)
    tok, net = ckpt.tokenizer, ckpt.model
    gen = _seeded(ckpt, seed, candidates)
    if not hasattr(tok, "encode_notes"):
        raise SeqkitError(f"music infill needs the performance tokenizer; {ckpt.path} uses {getattr(tok, 'type', '?')}")
    notes = midi_notes(score, drums=tok.drums, sustain=tok.sustain)
    _checked_gap(notes, start, end, piece)
    context, follows = split_piece(notes, start, end)
    prompt = context_tokens(tok, context, start)
    steps = int(round((end - start) * STEPS_PER_SECOND))
    after = tok.encode_notes(follows - np.array([end, end, 0, 0])) if len(follows) else []
    after = [t for t, s in zip(after, tok.token_seconds(after)) if s <= lookahead]
    t0 = time.perf_counter()
    total = gap_budget(steps)
    done = [0]

    def advance(k: int = 1) -> None:
        done[0] += k
        if ctx is not None:
            ctx.progress(min(done[0], total), total, "sampling the gap")

    sampling = dict(temperature=temperature, top_k=top_k or 0, top_p=top_p or 1.0)
    gaps = sample_gaps(net, tok, prompt[-_room(net, steps):], candidates, steps, sampling, gen, advance)
    sampled = time.perf_counter() - t0

    def scored(k: int) -> None:
        if ctx is not None:
            ctx.progress(k, len(gaps), "scoring the candidates")

    real_gap = close_gap(tok.encode_notes(_real_gap(notes, start, end)), steps, tok.eos_id)
    if after:  # the real gap scored beside the candidates, with the same context
        nlls = score_candidates(net, prompt, gaps + [real_gap], after, scored)
        nlls, original = nlls[:-1], nlls[-1]
    else:
        nlls, original = [float("nan")] * len(gaps), None
    best = int(np.nanargmin(nlls)) if after else 0
    gap_notes = tok.decode_notes(gaps[best]) + np.array([start, start, 0, 0])
    out_notes = np.concatenate([context, gap_notes, follows])
    files = {"mid": _midi_bytes(out_notes, score, tok)} if "mid" in want else {}
    meta = {"chosen": best + 1, "candidates": candidates, "nll_after": _r(nlls[best]),
            "candidate_nll_after": [_r(x) for x in nlls], "original_nll": _r(original),
            "lookahead_tokens": len(after), "gap_notes": int(len(gap_notes)), "notes": int(len(out_notes)),
            "seconds": round(float(out_notes[:, 1].max()), 2)}
    notes_for_user = [] if after else [f"nothing follows the gap within {lookahead:g} s: kept the first candidate"]
    dev = "cpu (onnxruntime)" if ckpt.backend == "onnx" else str(next(net.parameters()).device)
    info = {"model": str(ckpt.path), "piece": str(piece), "from": start, "to": end, "device": dev,
            "backend": ckpt.backend, "sampling_seconds": round(sampled, 2),
            "seconds_taken": round(time.perf_counter() - t0, 2)}
    return Result([Output(files=files, meta=meta)], info, notes_for_user)


def _seeded(ckpt, seed, candidates: int):
    """The random number generator of the backend (seeded with ``seed``, else at random): numpy's
    on ONNX Runtime (no torch imported), torch's on torch (and one CPU thread for a small batch)."""
    import numpy as np

    if ckpt.backend == "onnx":
        import random

        from seqkit import check_seed

        if seed is not None:
            random.seed(check_seed(seed))
        return np.random.default_rng(seed if seed is not None else np.random.SeedSequence().entropy % 2**31)
    import torch

    from seqkit import seed_everything

    from .loading import cpu_threads

    seed_everything(seed)
    cpu_threads(ckpt.model, candidates)
    gen = torch.Generator(device=next(ckpt.model.parameters()).device)
    gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**31, (1,)).item()))
    return gen


def _room(net, steps: int) -> int:
    """How many prompt tokens to keep: the model's context less room for the gap."""
    limit = getattr(net.config, "max_len", None) or 10**9
    return max(1, limit - min(limit // 2, int(steps / 100 * 40)))


def _real_gap(notes, start: float, end: float):
    """The piece's own notes inside the gap, from time 0 (a note sounding at ``start`` from before
    is not part of it)."""
    import numpy as np

    inside = notes[(notes[:, 0] >= start) & (notes[:, 0] < end)].copy()
    return inside - np.array([start, start, 0, 0])


def _r(x):
    import math

    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 4)


def _midi_bytes(notes, score, tok) -> bytes:
    """The notes as a one-track MIDI file with the input's resolution and first tempo."""
    import tempfile
    from pathlib import Path

    import pretty_midi

    from .midi import tick_scales, write_midi

    bpm = 60.0 / (tick_scales(score)[0][1] * score.tpq)
    pm = pretty_midi.PrettyMIDI(resolution=int(score.tpq), initial_tempo=bpm)
    inst = pretty_midi.Instrument(program=tok.program, is_drum=tok.drums, name="drums" if tok.drums else "piano")
    for s, e, p, v in sorted(notes.tolist()):
        inst.notes.append(pretty_midi.Note(velocity=int(v), pitch=int(p), start=s, end=e))
    pm.instruments.append(inst)
    with tempfile.TemporaryDirectory() as tmp:
        write_midi(pm, Path(tmp) / "piece.mid")
        return (Path(tmp) / "piece.mid").read_bytes()


def show_infill(result: Result) -> None:
    """Where it went, which candidate won and by how much."""
    import typer

    m = result.outputs[0].meta
    where = result.outputs[0].saved.get("mid", "")
    r = result.meta
    typer.echo(f"wrote {where}: {m['notes']} notes, {m['seconds']} s; the gap {r['from']:g}-{r['to']:g} s has "
               f"{m['gap_notes']} new notes (candidate {m['chosen']} of {m['candidates']})")
    if m["nll_after"] is not None:
        typer.echo(f"NLL of the {m['lookahead_tokens']} tokens after the gap: {m['nll_after']:.3f} nats/token "
                   f"(candidates {min(m['candidate_nll_after']):.3f}..{max(m['candidate_nll_after']):.3f}; "
                   f"the real gap: {m['original_nll']:.3f})")
    typer.echo(f"took {r['seconds_taken']:.1f} s ({r['sampling_seconds']:.1f} s sampling) on {r['device']}")
