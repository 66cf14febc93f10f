"""Reading MIDI files: symusic (a C++ parser) for everything the music commands read.

``load_midi(source)`` is a ``symusic.Score`` in ticks, as in the file. ``score_tracks(score)``
gives each track's notes and sustain-pedal events in seconds, computed in float64 with exactly
pretty_midi's arithmetic (``tick_scale = 60 / (bpm * resolution)`` per tempo segment), so the
performance tokens stay those of the pretty_midi reader this replaced. symusic's own seconds are
float32, which would move notes that sit on a half 10 ms step.

``load_pretty_midi`` is the old reader, kept for what pretty_midi still does best (writing
files, synthesis) and for the comparison test and benchmark (docs/music.md, "Which library does
what").
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np

from .midi import midi_bytes, read_midi, seconds_of, tick_scales, unreadable_midi


def parser_key() -> str:
    """The parser and its version: part of the per-file cache keys (other parsers' and other
    versions' results are cached apart)."""
    import symusic

    return f"symusic{symusic.__version__}"


def is_score(x) -> bool:
    return type(x).__module__.startswith("symusic")


def load_midi(source, name: str | None = None):
    """A ``symusic.Score`` (ticks) from a path, bytes or Score (``midi.read_midi``)."""
    return read_midi(source, name)


def load_pretty_midi(source, name: str | None = None):
    """A ``pretty_midi.PrettyMIDI`` (the reader used before symusic)."""
    import pretty_midi

    if isinstance(source, pretty_midi.PrettyMIDI):
        return source
    data, name = midi_bytes(source, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - mido/pretty_midi raise many kinds
        raise unreadable_midi(name, exc) from None


@dataclass
class TrackNotes:
    """One track in seconds: notes ``[N, 4]`` (start, end, pitch, velocity) and CC 64 events."""

    name: str
    program: int
    is_drum: bool
    notes: np.ndarray
    pedal_times: np.ndarray
    pedal_values: np.ndarray


def paired_like_pretty_midi(start, end, pitch):
    """``(start, end, pitch)`` ticks of the notes that pretty_midi would read, from symusic's
    pairing. symusic pairs note-offs with note-ons first in, first out and keeps zero-length
    notes; pretty_midi ends every sounding note of a key at that key's next note-off (one that
    started on the same tick excepted) and drops a note whose note-off comes on its own tick."""
    keep = end > start
    start, end, pitch = start[keep], end[keep], pitch[keep]
    if not len(start):
        return start, end, pitch, keep
    span = int(max(end.max(), start.max())) + 1  # one key's ticks sort before the next key's
    ends = np.sort(pitch * span + end)
    # each note's own end is later than its start, so the match is always of its own key
    return start, ends[np.searchsorted(ends, pitch * span + start, side="right")] - pitch * span, pitch, keep


def score_tracks(score) -> list[TrackNotes]:
    """Every track's notes (paired as pretty_midi pairs them, see ``paired_like_pretty_midi``)
    and sustain-pedal events in seconds (float64)."""
    scales = tick_scales(score)
    out = []
    for tr in score.tracks:
        n = tr.notes.numpy()
        start = n["time"].astype(np.int64)
        start, end, pitch, keep = paired_like_pretty_midi(start, start + n["duration"].astype(np.int64),
                                                          n["pitch"].astype(np.int64) & 0x7F)
        notes = np.empty((len(start), 4), dtype=np.float64)
        notes[:, 0] = seconds_of(start, scales)
        notes[:, 1] = seconds_of(end, scales)
        notes[:, 2] = pitch
        notes[:, 3] = n["velocity"][keep].astype(np.int64) & 0x7F
        c = tr.controls.numpy()
        pedal = c["number"] == 64
        order = np.argsort(c["time"][pedal], kind="stable")
        out.append(TrackNotes(tr.name, int(tr.program), bool(tr.is_drum), notes,
                              seconds_of(c["time"][pedal][order], scales),
                              c["value"][pedal][order].astype(np.int64)))
    return out


def end_seconds(score) -> float:
    """The time of the score's last event (notes' ends, controls, pitch bends, tempos, time and
    key signatures, lyrics, markers), as pretty_midi's ``get_end_time``."""
    ticks = [0]
    for tr in score.tracks:
        n = tr.notes.numpy()
        if len(n["time"]):
            ticks.append(int((n["time"].astype(np.int64) + n["duration"]).max()))
        for events in (tr.controls, tr.pitch_bends):
            if len(events):
                ticks.append(int(events.numpy()["time"].max()))
        ticks += [e.time for e in tr.lyrics]  # text events have no numpy view
    for events in (score.tempos, score.time_signatures, score.key_signatures):
        if len(events):
            ticks.append(int(events.numpy()["time"].max()))
    ticks += [e.time for e in score.markers]
    return float(seconds_of([max(ticks)], tick_scales(score))[0])


def music_seconds(score) -> float:
    """Seconds of music: the end of the last note (any track), the measure per second of music."""
    scales = tick_scales(score)
    last = 0
    for tr in score.tracks:
        n = tr.notes.numpy()
        if len(n["time"]):
            last = max(last, int((n["time"].astype(np.int64) + n["duration"]).max()))
    return float(seconds_of([last], scales)[0])


def cut_seconds(score, seconds: float):
    """The score (ticks) with only the notes that start before ``seconds``, cut to end there."""
    from symusic import Note

    sec = score.to("second")
    for tr in sec.tracks:
        n = tr.notes.numpy()
        keep = n["time"] < seconds
        time = n["time"][keep]
        tr.notes = Note.from_numpy(time, np.minimum(n["duration"][keep], seconds - time),
                                   n["pitch"][keep], n["velocity"][keep], "second")
    return sec.to("tick")


def instrument_name(program: int) -> str:
    """The General MIDI name of a program (0-based), e.g. 0 -> Acoustic Grand Piano."""
    from pretty_midi import program_to_instrument_name

    return program_to_instrument_name(int(program))
