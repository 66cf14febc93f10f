"""The ``abc`` generator: folk tunes sampled character by character, as ``seqkit abc generate``
and the Python API run it, each converted to MIDI when asked for.

Sampling whole tunes (below): prime the network, then draw characters until ``<end>`` or a limit.
The model is a torch module (sampled by ``seqkit.generate`` with a ``torch.Generator``) or an
ONNX Runtime step graph (``seqkit.generation.OnnxLM``, sampled by ``seqkit.generation.generate_numpy`` with a numpy
``Generator``): one loop, one stop rule, two backends.

Importing this module is cheap (no torch, no music21): the run function imports what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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
    threads_param,
)

from .data import END, START, unwrap

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL = "lstm"
DEFAULT_PRIMER = "<start>\\nX:"
REEL_IN_D = "<start>\\nX:1\\nR:reel\\nM:4/4\\nL:1/8\\nK:D\\n"

# the keys a form offers in its menu (any known key is accepted: seqkit_abc.grammar.KEYS)
FOLK_KEYS = ("G", "D", "A", "C", "F", "Bb", "E", "Em", "Am", "Bm", "Dm", "Gm", "Ador", "Edor", "Ddor", "Gdor",
             "Dmix", "Amix", "Gmix")

ABC = Generator(
    "abc",
    "seqkit_abc.generator:make_tunes",
    [
        model_param(DEFAULT_MODEL, help="Checkpoint name (see `seqkit models --task abc`) or path to its .json.",
                    task="abc"),
        Param("primer", "str", DEFAULT_PRIMER, "Text to start from, or @FILE. `\\n` is a newline.",
              page_help="ABC text the tune starts with, e.g. headers such as R:reel and K:D (`\\n` is a "
                        "new line)."),
        temperature_param(),
        Param("max_chars", "int", 2000, "Stop a tune after this many new characters (the longest 1% of the "
              "course tunes have more).", min=1, max=100_000, soft_max=4000,
              page_help="Stop a tune after this many new characters (about 300 make a short tune)."),
        count_param(3, max=1000, help="How many tunes.", soft_max=10),
        Param("engine", "choice", "auto", "ABC -> MIDI converter: auto (music21), music21 or abc2midi.",
              choices=("auto", "music21", "abc2midi")),
        Param("key", "str", None, "Fix the key: every K: the tune writes is this one (e.g. G, Dmix, Ador, Bbmaj).",
              choices=FOLK_KEYS, page_help="Fix the key of the tune (empty: the model chooses)."),
        Param("meter", "str", None, "Fix the metre: every M: is this one (e.g. 6/8, 3/4, C|).",
              choices=("4/4", "6/8", "3/4", "2/4", "9/8", "12/8", "C", "C|"),
              page_help="Fix the metre (empty: the model chooses)."),
        Param("unit", "str", None, "Fix the unit note length: an L: line, if written, is this one (e.g. 1/8).",
              choices=("1/8", "1/16", "1/4"), page_help="Fix the unit note length (empty: the model chooses)."),
        Param("unconstrained", "bool", False, "Sample without the ABC format mask (known header fields, keys, "
              "metres; <end> at a bar line near --max-chars): the model's raw output.",
              page_help="Sample the model's raw output, without the mask that keeps headers, keys, metres "
                        "and bars valid."),
        seed_param(),
        device_param(),
        threads_param(),
    ],
    task="abc",
    description="Sample tunes: prime the network (default `<start>\\nX:`), draw characters until `<end>`.",
    command="abc generate",
    examples=[Example("A reel in D", {"primer": REEL_IN_D, "count": 1, "max_chars": 400},
                      "An LSTM writes a folk tune in ABC notation, heard through its MIDI.")],
    files=[
        FileOutput("abc", ("--out", "-o"), "Write the tunes to this .abc file instead of stdout.", joined=True),
        FileOutput("mid", ("--midi",), "Also convert each tune to DIR/tune_N.mid.", folder=True, stem="tune"),
    ],
)


def _read_primer(primer: str) -> str:
    if primer.startswith("@"):
        from .data import read_text

        return read_text(Path(primer[1:]))
    return primer.replace("\\n", "\n")


def make_tunes(model, primer, temperature, max_chars, count, engine, key, meter, unit, unconstrained, seed,
               device, threads=0, want=frozenset(), ctx=None) -> Result:
    """``count`` tunes in one batch: each one's ABC text, whether it reached ``<end>`` (and whether
    it was wound up at the cap), and its MIDI (``files["mid"]``) when ``"mid"`` is wanted and the
    tune converts. On ONNX Runtime where the model has graphs (no torch imported), else torch;
    ``threads`` 0 chooses for the batch."""
    from .loading import load_abc_model, sampling_rng
    from .midi import abc_to_midi, pick_engine

    pick_engine(engine)
    ckpt, dev = load_abc_model(model, device, threads=threads, batch=count)
    text = _read_primer(primer)
    done = [0]

    def step(k: int = 1) -> None:
        done[0] += k
        if ctx is not None:
            ctx.progress(done[0], max_chars, f"sampling {count} tune{'s' * (count > 1)}")

    samples = sample_tunes(ckpt.model, ckpt.tokenizer, text, count, temperature, max_chars,
                           sampling_rng(ckpt, seed, dev), dev, on_step=step, constrain=not unconstrained,
                           key=key, meter=meter, unit=unit)
    outputs, notes = [], []
    for i, s in enumerate(samples, 1):
        # X:1, X:2 ... whatever the model wrote: a file of several tunes needs distinct numbers
        out = Output(number_tune(s.abc, i), meta={"index": i, "ended": s.ended, "capped": s.capped,
                                                  "chars": len(s.text) - len(text)})
        if not s.ended:
            notes.append(f"tune {i}: no <end> within {max_chars} characters (cut)")
        elif s.capped:
            notes.append(f"tune {i}: reached the {max_chars}-character cap; ended at a bar line with <end>")
        if "mid" in want:
            conv = abc_to_midi(out.text, engine)
            if conv.ok:
                out.files["mid"] = conv.midi
                out.meta["notes"] = conv.notes
            else:
                out.meta["error"] = conv.error
                notes.append(f"tune {i}: not converted to MIDI: {conv.error}")
        outputs.append(out)
    if "mid" in want:
        notes.append(f"{sum('mid' in o.files for o in outputs)}/{len(outputs)} tunes converted to MIDI")
    fixed = {k: v for k, v in (("key", key), ("meter", meter), ("unit", unit)) if v}
    return Result(outputs, {"model": str(ckpt.path), "temperature": temperature, "seed": seed,
                            "backend": ckpt.backend, "threads": ckpt.threads, "format_mask": not unconstrained,
                            **fixed}, notes)


def show_tunes(result: Result) -> None:
    """The tunes on stdout, a blank line between two (an ABC file's layout)."""
    import typer

    typer.echo("\n\n".join(o.text for o in result.outputs) + "\n", nl=False)


# ----------------------------------------------------------------------------- sampling tunes


@dataclass
class Sample:
    text: str  # everything generated, primer included
    abc: str  # the tune without <start>/<end>
    ended: bool  # reached <end> (else cut at max_chars)
    capped: bool = False  # wound up at the length cap (ended at a bar line by the format mask)


def number_tune(abc: str, number: int) -> str:
    """The tune with reference number ``X:number``: its first ``X:`` line (whatever number the
    model wrote, if any) is replaced, or one is put first when it has none."""
    lines = abc.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith("X:"):
            lines[i] = f"X:{number}"
            return "\n".join(lines)
    return f"X:{number}\n{abc}" if abc else f"X:{number}"


def encode_primer(tok, primer: str) -> list[int]:
    if not primer:
        raise SeqkitError("the primer is empty")
    missing = tok.unknown(primer)
    if missing:
        shown = ", ".join(repr(c) for c in missing[:10])
        raise SeqkitError(f"the primer has characters the model never saw: {shown}")
    return tok.encode(primer)


def is_torch_model(model) -> bool:
    """A torch module (else an ONNX Runtime runner such as ``seqkit.generation.OnnxLM``)."""
    return callable(getattr(model, "parameters", None))


def sample_tunes(model, tok, primer: str, n: int = 1, temperature: float = 1.0,
                 max_chars: int = 2000, generator: torch.Generator | None = None,
                 device="cpu", on_step=None, constrain: bool = True, key: str | None = None,
                 meter: str | None = None, unit: str | None = None) -> list[Sample]:
    """``n`` tunes sampled in one batch by ``seqkit.generate`` (torch model; ``generator`` a
    ``torch.Generator``) or ``seqkit.generation.generate_numpy`` (ONNX model; ``generator`` a numpy
    ``Generator``); special tokens (pad, unk ...) are never drawn, and a tune ends at ``<end>``
    (several characters: a stop callback) or at a new ``<start>``. ``on_step(1)`` is called after
    each character step (progress).

    ``constrain``: the ABC format mask (``constraints.AbcFormat``: known header fields and
    values, ``<end>`` at a bar line near the cap); ``key``/``meter``/``unit`` fix ``K:``/``M:``/``L:``."""
    if n < 1:
        raise SeqkitError("--count must be at least 1")
    if max_chars < 1:
        raise SeqkitError("--max-chars must be at least 1")
    if not 0 <= temperature < float("inf"):  # also rejects nan
        raise SeqkitError(f"--temperature must be a finite number >= 0, not {temperature}")
    ids = encode_primer(tok, primer)
    texts = [primer] * n
    ended = [END in primer] * n

    def at_end(new) -> list[bool]:
        """Rows whose text now ends with ``<end>`` (or starts a new tune)."""
        for r, i in enumerate(new[:, -1].tolist()):
            if not ended[r]:
                texts[r] += tok.itos[i]
                ended[r] = texts[r].endswith(END) or (texts[r].endswith(START) and len(texts[r]) > len(primer))
        return ended

    fmt = format_processor(tok, max_chars, constrain, key, meter, unit)  # checks --key ... first
    if not all(ended):
        banned = [tok.stoi[s] for s in tok.specials]
        decode(model, [ids] * n, max_chars, temperature=temperature, suppress_ids=banned, rng=generator,
               on_step=on_step, stop_fn=at_end, device=device, processors=[fmt] if fmt else None)
    capped = fmt.capped if fmt and fmt.capped else [False] * n
    out = []
    for t, cap in zip(texts, capped):
        abc, ended_ = unwrap(t)
        out.append(Sample(t, abc, ended_, cap))
    return out


def decode(model, rows: list[list[int]], max_new: int, rng=None, device="cpu", **kwargs):
    """The new tokens after ``rows`` (one length), by ``seqkit.generate`` for a torch model or
    ``seqkit.generation.generate_numpy`` for an ONNX one; ``kwargs`` are the sampling options both take
    (``temperature``, ``suppress_ids``, ``stop_fn``, ``on_step`` ...)."""
    if is_torch_model(model):
        import torch

        from seqkit import generate

        idx = torch.tensor(rows, dtype=torch.long, device=device)
        with torch.no_grad():
            return generate(model, idx, max_new, generator=rng, **kwargs).tolist()
    import numpy as np

    from seqkit import generate_numpy

    return generate_numpy(model, np.array(rows, dtype=np.int64), max_new, rng=rng, **kwargs).tolist()


def format_processor(tok, max_chars: int, constrain: bool = True, key=None, meter=None, unit=None):
    """The ABC format mask for ``generate``/``generate_numpy`` (``processors=[...]``), or None."""
    from .grammar import check_fixed

    check_fixed(key, meter, unit)
    if not constrain:
        if key or meter or unit:
            raise SeqkitError("--key, --meter and --unit need the format mask (drop --unconstrained)")
        return None
    from .constraints import AbcFormat

    return AbcFormat(tok, max_chars, key=key, meter=meter, unit=unit)
