"""Reading and writing MIDI files, for this plugin and any other that reads them: symusic (a C++
parser) for the file, float64 seconds with pretty_midi's tempo arithmetic; pretty_midi writes.

``read_midi(source)`` is a ``symusic.Score`` in ticks, as in the file, or one clear
:class:`SeqkitError`. ``write_midi(midi, path)`` writes a ``PrettyMIDI``, a ``symusic.Score`` or
``[N, 4]`` notes (start s, end s, pitch, velocity: ``notes_to_midi``) atomically. ``tick_seconds(score, ticks)`` gives the seconds of ticks the way
pretty_midi computed them (``60 / (bpm * resolution)`` per tempo segment, in float64): symusic's
own seconds are float32, which moves notes that sit on a half step of a 10 ms or 50 ms grid.

symusic and pretty_midi are imported only when a file is read or written. (Until seqkit 0.6 this
module was core's ``seqkit.midi``; ``seqkit.read_midi`` ... still import, with a deprecation.)
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from seqkit import SeqkitError


def _is_score(x) -> bool:
    return type(x).__module__.startswith("symusic")


def midi_bytes(source, name: str | None = None) -> tuple[bytes, str]:
    """``(bytes, name)`` of a path or bytes; a clear error for folders and missing files."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), name or "the data"
    name = name or str(source)
    if os.path.isdir(source):
        raise SeqkitError(f"{name} is a folder, not a MIDI file")
    if not os.path.isfile(source):
        raise SeqkitError(f"no such MIDI file: {name}")
    try:
        with open(source, "rb") as f:
            return f.read(), name
    except OSError as exc:
        raise SeqkitError(f"cannot read {name}: {exc.strerror or exc}") from None


def unreadable_midi(name: str, exc: BaseException) -> SeqkitError:
    """The one-line error for a file a MIDI reader could not parse."""
    msg = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    return SeqkitError(f"{name} is not a readable MIDI file ({msg})")


def read_midi(source, name: str | None = None):
    """A ``symusic.Score`` (ticks) from a path, bytes or a Score; anything unreadable is a
    :class:`SeqkitError` naming ``name`` (e.g. the file the bytes came from)."""
    if _is_score(source):
        return source
    from symusic import Score

    data, name = midi_bytes(source, name)
    if not data:
        raise SeqkitError(f"{name} is not a readable MIDI file (it is empty)")
    try:
        return Score.from_midi(data)
    except Exception as exc:  # noqa: BLE001 - symusic raises RuntimeError/ValueError/...
        raise unreadable_midi(name, exc) from None


def tick_scales(score) -> list[tuple[int, float]]:
    """``(tick, seconds per tick)`` segments, as pretty_midi builds them (120 bpm until the first
    tempo; a tempo at tick 0 replaces it; a repeated tempo starts no segment)."""
    scales = [(0, 60.0 / (120.0 * score.tpq))]
    t = score.tempos.numpy()
    for tick, mspq in sorted(zip(t["time"].tolist(), t["mspq"].tolist()), key=lambda r: r[0]):
        scale = 60.0 / ((6e7 / mspq) * score.tpq)
        if tick == 0:
            scales = [(0, scale)]
        elif scale != scales[-1][1]:
            scales.append((tick, scale))
    return scales


def seconds_of(ticks, scales):
    """Seconds (float64 numpy array) of integer ticks under :func:`tick_scales`."""
    import numpy as np

    ticks = np.asarray(ticks, dtype=np.int64)
    out = np.empty(len(ticks), dtype=np.float64)
    starts = np.array([s for s, _ in scales], dtype=np.int64)
    seg = np.searchsorted(starts, ticks, side="right") - 1
    last_end = 0.0
    for k, (start, scale) in enumerate(scales):
        sel = seg == k
        out[sel] = last_end + scale * (ticks[sel] - start)
        if k + 1 < len(scales):
            last_end = float(last_end + scale * np.float64(scales[k + 1][0] - start))
    return out


def tick_seconds(score, ticks):
    """Seconds (float64) of ``ticks`` of ``score``, with pretty_midi's tempo arithmetic."""
    return seconds_of(ticks, tick_scales(score))


def notes_to_midi(notes, program: int = 0, drums: bool = False, tempo: float = 120.0):
    """A one-track ``pretty_midi.PrettyMIDI`` of ``[N, 4]`` notes (start s, end s, pitch, velocity)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=tempo)
    track = pretty_midi.Instrument(program=program, is_drum=drums, name="drums" if drums else "piano")
    for start, end, pitch, velocity in [list(map(float, row)) for row in notes]:
        track.notes.append(pretty_midi.Note(velocity=int(velocity), pitch=int(pitch), start=start, end=end))
    pm.instruments.append(track)
    return pm


def write_midi(midi, path) -> None:
    """Write ``midi`` (a ``PrettyMIDI``, a ``symusic.Score`` or ``[N, 4]`` notes, see
    :func:`notes_to_midi`) to ``path`` atomically (temp file + rename); a clear error when not
    writable."""
    from seqkit import atomic_write_bytes

    if _is_score(midi):
        data = bytes(midi.dumps_midi())
    else:
        if not hasattr(midi, "write"):
            midi = notes_to_midi(midi)
        buf = io.BytesIO()
        midi.write(buf)
        data = buf.getvalue()
    try:
        atomic_write_bytes(Path(path), data)
    except OSError as exc:
        raise SeqkitError(f"cannot write {path}: {exc.strerror or exc}") from None
