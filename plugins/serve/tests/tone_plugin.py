"""A third-party generator registered by the serve tests: text, a WAV, a PNG and a MIDI file per
output, progress steps (to test progress and cancel) and a MIDI upload (to test file parameters).

The WAV is real FluidSynth (pretty_midi + pyfluidsynth, as the music plugin renders) where that
is installed, a plain sine tone otherwise; ``meta["synth"]`` says which.
"""

from __future__ import annotations

import io
import math
import struct
import time
import wave
import zlib

from seqkit import Example, Generator, Output, Param, Result, count_param, hookimpl, seed_param

RATE = 22050


def make_tones(label, count, pitch, length, step_seconds, primer, loud, seed, ctx=None) -> Result:
    for step in range(length):
        if step_seconds:
            time.sleep(step_seconds)
        if ctx is not None:
            ctx.progress(step + 1, length, "making tones")
    primer_notes = _count_notes(primer) if primer is not None else None
    outputs = []
    for i in range(count):
        note = pitch + i
        midi = midi_bytes(note)
        audio, synth = render(midi, note, 0.8 if loud else 0.2)
        meta = {"pitch": note, "synth": synth, "new": i % 2 == 0}
        if primer_notes is not None:
            meta["primer_notes"] = primer_notes
        outputs.append(Output(f"{label} {i + 1}: MIDI note {note}",
                              files={"wav": audio, "png": png_bytes(note), "mid": midi}, meta=meta))
    meta = {"seed": seed, "primer": str(primer) if primer is not None else None}  # as music echoes its primer
    return Result(outputs, meta, notes=[f"made {count} tone(s)"])


TONE = Generator(
    "test-tone",
    make_tones,
    [Param("label", "str", "tone", "Text shown with each tone."),
     count_param(1, max=4, help="How many tones."),
     Param("pitch", "int", 69, "MIDI note number of the first tone.", min=21, max=108),
     Param("length", "int", 1, "Progress steps (the token count of this toy).", min=1, max=100_000),
     Param("step_seconds", "float", 0.0, "Seconds per step.", min=0.0, max=5.0),
     Param("primer", "file", None, "A MIDI file; its note count is reported.", accept=(".mid", ".midi")),
     Param("loud", "bool", True, "Loud or quiet."),
     seed_param()],
    task="test-tone",
    description="Make test tones: text, WAV, PNG and MIDI",
    command="test-tone",
    examples=[Example("Two tones from a primer", {"count": 2, "label": "example"}, "Two test tones; the "
                      "example uploads a MIDI primer of four notes.", files={"primer": lambda: example_primer()})],
)


def example_primer() -> tuple[str, bytes]:
    import mido

    track = mido.MidiTrack()
    for note in (60, 62, 64, 65):
        track += [mido.Message("note_on", note=note, velocity=90, time=0),
                  mido.Message("note_off", note=note, velocity=0, time=240)]
    buffer = io.BytesIO()
    mido.MidiFile(tracks=[track]).save(file=buffer)
    return "four-notes.mid", buffer.getvalue()


class TonePlugin:
    @hookimpl
    def register_generators(self, register):
        register(TONE)


def midi_bytes(note: int) -> bytes:
    import mido

    track = mido.MidiTrack([mido.Message("program_change", program=0, time=0),
                            mido.Message("note_on", note=note, velocity=100, time=0),
                            mido.Message("note_off", note=note, velocity=0, time=480)])
    buffer = io.BytesIO()
    mido.MidiFile(tracks=[track], ticks_per_beat=480).save(file=buffer)
    return buffer.getvalue()


def render(midi: bytes, note: int, gain: float) -> tuple[bytes, str]:
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth: only then does pretty_midi use FluidSynth)
        import numpy as np
        import pretty_midi

        audio = pretty_midi.PrettyMIDI(io.BytesIO(midi)).fluidsynth(fs=RATE)
        samples = (np.clip(audio / max(1e-9, float(np.abs(audio).max())), -1, 1) * gain * 32767).astype("<i2")
        return _wav(samples.tobytes()), "fluidsynth"
    except (ImportError, OSError, AttributeError):
        freq = 440.0 * 2 ** ((note - 69) / 12)
        frames = b"".join(struct.pack("<h", int(gain * 32767 * math.sin(2 * math.pi * freq * t / RATE)))
                          for t in range(RATE // 2))
        return _wav(frames), "sine"


def _wav(frames: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)
    return buffer.getvalue()


def png_bytes(note: int, width: int = 96, height: int = 24) -> bytes:
    """A tiny 'piano roll': one bar at the note's height."""
    row_of = height - 1 - (note % height)
    rows = b"".join(b"\x00" + (b"\x2f\x6f\xdd" if y == row_of else b"\xf3\xf6\xfb") * width for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _count_notes(path) -> int:
    import mido

    if path.suffix == ".abc":  # the notes after the K: line
        body = path.read_text(encoding="utf-8").split("K:", 1)[1].split("\n", 1)[1]
        return sum(ch in "ABCDEFGabcdefg" for ch in body)

    return sum(1 for msg in mido.MidiFile(path) if msg.type == "note_on" and msg.velocity > 0)
