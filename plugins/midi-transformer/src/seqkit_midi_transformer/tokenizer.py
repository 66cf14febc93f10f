"""The performance encoding of Oore et al. 2018 ("This time with feeling").

388 events, in this order (ids)::

      0..127  NOTE_ON(pitch)
    128..255  NOTE_OFF(pitch)
    256..355  TIME_SHIFT(k * 10 ms), k = 1..100
    356..387  VELOCITY(bin), bin = velocity // 4, decoded as bin * 4 + 2
    388 <pad>, 389 <bos>, 390 <eos>

Encoding (MIDI -> ids):

* Notes of all non-drum instruments are merged into one stream (``drums=True`` keeps the drum
  tracks too, for drum datasets; decoding then writes a drum track).
* The sustain pedal (CC 64, value >= 64 = down) is applied per instrument: a note released while
  the pedal is down sounds until the pedal is lifted (or until the same key is struck again).
* Times are rounded to the 10 ms grid; every note lasts at least one step. A note struck again
  while it still sounds ends at the new strike (one key cannot sound twice). At the same instant
  note-offs come before velocity/note-on events. Silence longer than 1 s is a run of shifts.
* Times are absolute: the stream starts at time 0, so a piece that starts after a pause starts
  with time shifts.

Decoding (ids -> MIDI) accepts any sequence: a note-off with no sounding note is skipped, a
note-on for a key that already sounds ends the earlier note there, notes never released end at
the last time reached (at least one step after they start), special tokens are skipped and
``<eos>`` stops. Encoding what decoding produced gives the same ids back (round trip).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from seqkit import SeqkitError

NOTE_ON, NOTE_OFF, TIME_SHIFT, VELOCITY = 0, 128, 256, 356
N_SHIFTS, N_VELOCITY = 100, 32
N_EVENTS = VELOCITY + N_VELOCITY  # 388
PAD, BOS, EOS = N_EVENTS, N_EVENTS + 1, N_EVENTS + 2
STEPS_PER_SECOND = 100
VERSION = 1  # bump when the encoding changes: part of the cache key


def load_midi(source, name: str | None = None):
    """A ``symusic.Score`` from a path, bytes or Score (see ``midi_read``); anything unreadable
    is a SeqkitError naming ``name``."""
    from .midi_read import load_midi as read

    return read(source, name)


def _sustained_ends(pedal_times, pedal_values, ends: np.ndarray, last_time: float) -> np.ndarray:
    """Note ends extended to the pedal release when a note is released while CC 64 is down
    (``pedal_times``/``pedal_values``: the CC 64 events in time order; a value >= 64 presses the
    pedal, a repeated press or release changes nothing)."""
    times = np.asarray(pedal_times, dtype=np.float64)
    down = np.asarray(pedal_values) >= 64
    was = np.concatenate([[False], down[:-1]])
    downs, ups = times[down & ~was], times[~down & was]
    if len(ups) < len(downs):  # still down at the end
        ups = np.append(ups, max(last_time, downs[-1]))
    if not len(downs):
        return ends
    k = np.searchsorted(downs, ends, side="right") - 1  # last pedal-down at or before the release
    held = (k >= 0) & (ends < ups[np.clip(k, 0, None)])
    out = ends.copy()
    out[held] = np.maximum(ends[held], ups[k[held]])
    return out


def _pretty_midi_tracks(pm):
    """The tracks of a ``PrettyMIDI`` as ``midi_read.TrackNotes`` (the pre-symusic reader)."""
    from .midi_read import TrackNotes

    out = []
    for inst in pm.instruments:
        notes = np.array([(n.start, n.end, n.pitch, n.velocity) for n in inst.notes],
                         dtype=np.float64).reshape(-1, 4)
        pedal = sorted((c for c in inst.control_changes if c.number == 64), key=lambda c: c.time)
        out.append(TrackNotes(inst.name, inst.program, inst.is_drum, notes,
                              np.array([c.time for c in pedal]), np.array([c.value for c in pedal])))
    return out


def midi_notes(midi, drums: bool = False, sustain: bool = True) -> np.ndarray:
    """Notes as a float array ``[N, 4]`` of (start s, end s, pitch, velocity), pedal applied, of a
    ``symusic.Score`` (or of a ``pretty_midi.PrettyMIDI``: the old reader, for comparisons)."""
    from .midi_read import end_seconds, is_score, score_tracks

    if is_score(midi):
        tracks, last_time = score_tracks(midi), None
    else:
        tracks, last_time = _pretty_midi_tracks(midi), midi.get_end_time()
    rows = []
    for tr in tracks:
        if (tr.is_drum and not drums) or len(tr.notes) == 0:
            continue
        a = tr.notes
        if sustain and not tr.is_drum and len(tr.pedal_times):
            if last_time is None:
                last_time = end_seconds(midi)
            a = a.copy()
            a[:, 1] = _sustained_ends(tr.pedal_times, tr.pedal_values, a[:, 1], last_time)
        rows.append(a)
    if not rows:
        return np.zeros((0, 4))
    notes = np.concatenate(rows)
    return notes[np.lexsort((notes[:, 2], notes[:, 0]))]


def quantize_notes(notes: np.ndarray) -> np.ndarray:
    """Integer notes ``[N, 4]`` (start step, end step, pitch, velocity bin) on the 10 ms grid,
    with the encoding's rules: at least one step long, one sounding note per key."""
    if len(notes) == 0:
        return np.zeros((0, 4), dtype=np.int64)
    notes = np.asarray(notes, dtype=np.float64)
    q = np.empty((len(notes), 4), dtype=np.int64)
    q[:, 0] = np.maximum(np.round(notes[:, 0] * STEPS_PER_SECOND), 0)
    q[:, 1] = np.maximum(np.round(notes[:, 1] * STEPS_PER_SECOND), q[:, 0] + 1)
    q[:, 2] = np.clip(notes[:, 2], 0, 127)
    q[:, 3] = np.clip(notes[:, 3], 1, 127).astype(np.int64) // 4
    return canonical(q)


def canonical(q: np.ndarray) -> np.ndarray:
    """Integer notes under the encoding's rules: one note per (key, start), a note ends at the
    next strike of its key; sorted by start, then pitch."""
    if len(q) == 0:
        return q
    q = q[np.lexsort((q[:, 0], q[:, 2]))]  # by pitch, then start
    same_key = q[1:, 2] == q[:-1, 2]
    dup = np.zeros(len(q), dtype=bool)
    dup[1:] = same_key & (q[1:, 0] == q[:-1, 0])  # struck twice at the same instant: keep one
    q = q[~dup]
    same_key = q[1:, 2] == q[:-1, 2]
    q[:-1, 1] = np.where(same_key, np.minimum(q[:-1, 1], q[1:, 0]), q[:-1, 1])
    return q[np.lexsort((q[:, 2], q[:, 0]))]


def shift_tokens(steps: int, out: list) -> None:
    while steps > 0:
        k = min(steps, N_SHIFTS)
        out.append(TIME_SHIFT + k - 1)
        steps -= k


def encode_quantized(q: np.ndarray) -> list[int]:
    """Event ids for quantized notes (see ``quantize_notes``), vectorised: per event the time
    shifts since the previous one (runs of 1 s, then the rest), a velocity token when an onset's
    velocity differs from the previous onset's, then the note-on or note-off."""
    if len(q) == 0:
        return []
    n = len(q)
    # (time, kind, pitch, velocity bin); kind 0 = off, 1 = on, so offs come first at one instant
    times = np.concatenate([q[:, 1], q[:, 0]])
    kinds = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
    pitches = np.concatenate([q[:, 2], q[:, 2]])
    vels = np.concatenate([q[:, 3], q[:, 3]])
    order = np.lexsort((pitches, kinds, times))
    t, on, p, v = times[order], kinds[order] == 1, pitches[order], vels[order]
    delta = np.diff(t, prepend=0)
    n_shift = -(-delta // N_SHIFTS)  # ceil
    v_on = v[on]
    new_velocity = np.zeros(len(t), dtype=bool)
    new_velocity[on] = np.concatenate([[True], v_on[1:] != v_on[:-1]])
    count = n_shift + new_velocity + 1
    end = np.cumsum(count)
    start = end - count
    out = np.full(int(end[-1]), TIME_SHIFT + N_SHIFTS - 1, dtype=np.int64)
    has = n_shift > 0
    out[(start + n_shift - 1)[has]] = TIME_SHIFT + delta[has] - (n_shift[has] - 1) * N_SHIFTS - 1
    out[(start + n_shift)[new_velocity]] = VELOCITY + v[new_velocity]
    out[end - 1] = np.where(on, NOTE_ON + p, NOTE_OFF + p)
    return out.tolist()


def decode_quantized(ids: Iterable[int]) -> np.ndarray:
    """Quantized notes ``[N, 4]`` from any id sequence (never raises on odd orders)."""
    now, velocity = 0, 16
    sounding: dict[int, tuple[int, int]] = {}
    notes = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if NOTE_ON <= i < NOTE_OFF:
            p = i - NOTE_ON
            if p in sounding:
                start, v = sounding.pop(p)
                if now > start:
                    notes.append((start, now, p, v))
            sounding[p] = (now, velocity)
        elif NOTE_OFF <= i < TIME_SHIFT:
            p = i - NOTE_OFF
            if p in sounding:
                start, v = sounding.pop(p)
                notes.append((start, max(now, start + 1), p, v))
        elif TIME_SHIFT <= i < VELOCITY:
            now += i - TIME_SHIFT + 1
        elif VELOCITY <= i < N_EVENTS:
            velocity = i - VELOCITY
        # anything else (pad, bos, out of range) is skipped
    for p, (start, v) in sounding.items():
        notes.append((start, max(now, start + 1), p, v))
    if not notes:
        return np.zeros((0, 4), dtype=np.int64)
    return canonical(np.array(notes, dtype=np.int64))


def token_seconds(ids) -> np.ndarray:
    """The time (seconds) at which each token happens (after the shifts before it)."""
    ids = np.asarray(ids, dtype=np.int64)
    shifts = np.where((ids >= TIME_SHIFT) & (ids < VELOCITY), ids - TIME_SHIFT + 1, 0)
    return np.cumsum(shifts) / STEPS_PER_SECOND


def describe(i: int) -> str:
    """A readable name for one id, e.g. ``NOTE_ON(60)``, ``SHIFT(250ms)``."""
    i = int(i)
    if NOTE_ON <= i < NOTE_OFF:
        return f"NOTE_ON({i})"
    if NOTE_OFF <= i < TIME_SHIFT:
        return f"NOTE_OFF({i - NOTE_OFF})"
    if TIME_SHIFT <= i < VELOCITY:
        return f"SHIFT({(i - TIME_SHIFT + 1) * 10}ms)"
    if VELOCITY <= i < N_EVENTS:
        return f"VELOCITY({(i - VELOCITY) * 4 + 2})"
    return {PAD: "<pad>", BOS: "<bos>", EOS: "<eos>"}.get(i, f"<{i}?>")


class PerformanceTokenizer:
    """MIDI <-> performance event ids (see the module docstring for the exact encoding)."""

    type = "performance"
    vocab_size = N_EVENTS + 3
    pad_id, bos_id, eos_id, unk_id = PAD, BOS, EOS, None
    n_events = N_EVENTS

    def __init__(self, drums: bool = False, sustain: bool = True, program: int = 0):
        self.drums = bool(drums)
        self.sustain = bool(sustain)
        self.program = int(program)
        if not 0 <= self.program <= 127:  # else every MIDI written would fail in mido
            raise SeqkitError(f"performance: program must be a General MIDI program 0..127, not {program}")

    # -- encoding ---------------------------------------------------------------------------
    def notes(self, source, drums: bool | None = None) -> np.ndarray:
        """Float notes (start, end, pitch, velocity) of a MIDI path/bytes/``symusic.Score`` (or
        ``PrettyMIDI``)."""
        midi = source if hasattr(source, "instruments") else load_midi(source)
        return midi_notes(midi, drums=self.drums if drums is None else drums, sustain=self.sustain)

    def encode_notes(self, notes, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        ids = encode_quantized(quantize_notes(np.asarray(notes, dtype=np.float64).reshape(-1, 4)))
        return ([BOS] if add_bos else []) + ids + ([EOS] if add_eos else [])

    def encode(self, x, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Ids of a MIDI file (path), its bytes, a ``symusic.Score`` (or ``PrettyMIDI``) or a notes
        array ``[N, 4]``."""
        if isinstance(x, np.ndarray):
            notes = x
        else:
            notes = self.notes(x)
        return self.encode_notes(notes, add_bos, add_eos)

    # -- decoding ---------------------------------------------------------------------------
    def decode_notes(self, ids: Iterable[int]) -> np.ndarray:
        """Float notes (start s, end s, pitch, velocity) of any id sequence."""
        q = decode_quantized(ids)
        out = np.empty((len(q), 4), dtype=np.float64)
        out[:, :2] = q[:, :2] / STEPS_PER_SECOND
        out[:, 2] = q[:, 2]
        out[:, 3] = q[:, 3] * 4 + 2
        return out

    def decode(self, ids: Iterable[int]):
        """A ``pretty_midi.PrettyMIDI`` with one piano (or drum) track."""
        import pretty_midi

        pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120.0)
        inst = pretty_midi.Instrument(program=self.program, is_drum=self.drums,
                                      name="drums" if self.drums else "piano")
        for start, end, pitch, vel in self.decode_notes(ids).tolist():
            inst.notes.append(pretty_midi.Note(velocity=int(vel), pitch=int(pitch),
                                               start=start, end=end))
        pm.instruments.append(inst)
        return pm

    def decode_midi(self, ids: Iterable[int]):
        """The music tokenizer contract's name for :meth:`decode` (a ``PrettyMIDI``)."""
        return self.decode(ids)

    def token_seconds(self, ids) -> np.ndarray:
        """The time (s) reached after each token (see the module function)."""
        return token_seconds(ids)

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"type": self.type, "version": VERSION, "drums": self.drums,
                "sustain": self.sustain, "program": self.program}

    @classmethod
    def from_dict(cls, d: dict) -> PerformanceTokenizer:
        if d.get("version", VERSION) != VERSION:
            raise SeqkitError(f"performance tokenizer version {d.get('version')} is not supported "
                              f"(this plugin writes version {VERSION})")
        return cls(drums=d.get("drums", False), sustain=d.get("sustain", True),
                   program=d.get("program", 0))

    def cache_key(self) -> str:
        """Settings, encoding version and MIDI parser (another parser's tokens are cached apart)."""
        from .midi_read import parser_key

        return f"perf-v{VERSION}-{parser_key()}-d{int(self.drums)}-s{int(self.sustain)}"

    def describe(self, i: int) -> str:
        return describe(i)

    def token_meanings(self) -> dict:
        """What every id means, for the sampling controls (``controls.py``): ``kind`` (one of
        ``controls.KINDS``: note_on, note_off, time_shift, velocity, other) and ``value`` (the
        pitch, the shift in seconds, the velocity a bin decodes to; 0 for other ids), arrays of
        length ``vocab_size``; ``velocity_start`` is the velocity a stream has before its first
        velocity token. Another tokenizer offers the controls by returning the same."""
        ids = np.arange(self.vocab_size)
        kind = np.full(self.vocab_size, "other", dtype=object)
        value = np.zeros(self.vocab_size)
        for name, lo, hi in (("note_on", NOTE_ON, NOTE_OFF), ("note_off", NOTE_OFF, TIME_SHIFT),
                             ("time_shift", TIME_SHIFT, VELOCITY), ("velocity", VELOCITY, N_EVENTS)):
            kind[lo:hi] = name
        value[:NOTE_OFF] = ids[:NOTE_OFF]
        value[NOTE_OFF:TIME_SHIFT] = ids[NOTE_OFF:TIME_SHIFT] - NOTE_OFF
        value[TIME_SHIFT:VELOCITY] = (ids[TIME_SHIFT:VELOCITY] - TIME_SHIFT + 1) / STEPS_PER_SECOND
        value[VELOCITY:N_EVENTS] = (ids[VELOCITY:N_EVENTS] - VELOCITY) * 4 + 2
        return {"kind": kind, "value": value, "velocity_start": 16 * 4 + 2}

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"PerformanceTokenizer(drums={self.drums}, sustain={self.sustain})"
