"""The ``notes-chords`` tokenizer: one token per onset, a note (``"C4"``) or a chord (``"C4.E4.G4"``).

As in the classic music21 note/chord pipelines: notes that start together (within ``tolerance``
seconds of the group's first onset) form one chord, pitches named music21-style (``C#4``, ``E-4``,
``B-3``; octave = MIDI number // 12 - 1) and joined with ``.`` from low to high. Pitches below 12
(octave -1, under 16 Hz) are dropped: music21's names for them are ambiguous (``B-1`` is both
MIDI 11 and B-flat 1). Durations and
velocities are dropped; decoding plays one step every ``step_seconds``. The vocabulary is built from
the data (``NotesChordsTokenizer.build(step_sequences)``); unseen chords map to ``<unk>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from seqkit import SeqkitError

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")
_INDEX = {n: i for i, n in enumerate(NAMES)}


def pitch_name(midi: int) -> str:
    """music21's ``Pitch(midi=m).nameWithOctave``: 60 -> ``C4``, 63 -> ``E-4`` (12 <= midi <= 127)."""
    if not 12 <= midi <= 127:
        raise SeqkitError(f"pitch {midi} outside 12..127")
    return f"{NAMES[midi % 12]}{midi // 12 - 1}"


def pitch_number(name: str) -> int:
    """Inverse of :func:`pitch_name`."""
    for cut in (2, 1):
        head, octave = name[:cut], name[cut:]
        if head in _INDEX and octave.lstrip("-").isdigit():
            midi = (int(octave) + 1) * 12 + _INDEX[head]
            if 12 <= midi <= 127:
                return midi
    raise SeqkitError(f"not a pitch name: {name!r}")


def step_symbol(step: Iterable[int]) -> str:
    return ".".join(pitch_name(p) for p in sorted(set(step)))


def symbol_step(symbol: str) -> tuple[int, ...]:
    return tuple(pitch_number(p) for p in symbol.split("."))


def load_midi(source):
    """A ``symusic.Score`` from a path, bytes or an existing Score (the music plugin's ``read_midi``)."""
    from seqkit_midi_transformer.midi import read_midi

    return read_midi(source)


def onset_seconds(score, ticks):
    """Seconds (float64) of ticks with pretty_midi's tempo arithmetic (the music plugin's
    ``tick_seconds``): symusic's own seconds are float32, which moves onsets that sit on the 50 ms
    grouping boundary."""
    from seqkit_midi_transformer.midi import tick_seconds

    return tick_seconds(score, ticks)


def midi_steps(source, program: int | None = None, tolerance: float = 0.05) -> list[tuple[int, ...]]:
    """Notes of the non-drum instruments (only those playing ``program`` if given) grouped by onset
    (zero-length notes are skipped, as pretty_midi, the reader before symusic, dropped them)."""
    score = load_midi(source)
    rows = []
    for tr in score.tracks:
        if tr.is_drum or (program is not None and tr.program != program):
            continue
        n = tr.notes.numpy()
        keep = (n["pitch"] >= 12) & (n["duration"] > 0)
        rows += zip(onset_seconds(score, n["time"][keep]).tolist(), n["pitch"][keep].astype(int).tolist())
    notes = sorted(rows)
    steps: list[tuple[int, ...]] = []
    group: set[int] = set()
    start = None
    for t, p in notes:
        if start is None or t - start > tolerance:
            if group:
                steps.append(tuple(sorted(group)))
            group, start = set(), t
        group.add(p)
    if group:
        steps.append(tuple(sorted(group)))
    return steps


class NotesChordsTokenizer:
    """Notes and chords as whole tokens; see the module docstring."""

    type = "notes-chords"

    def __init__(self, symbols: Iterable[str], step_seconds: float = 0.25, tolerance: float = 0.05,
                 program: int | None = None):
        self.symbols = [s for s in symbols if s not in SPECIALS]
        self.itos = list(SPECIALS) + self.symbols
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise SeqkitError("notes-chords tokenizer: duplicate symbols in the vocabulary")
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = range(4)
        if not 0 < float(step_seconds) < float("inf"):  # also rejects nan
            raise SeqkitError(f"notes-chords: step_seconds must be above 0, not {step_seconds}")
        if not 0 <= float(tolerance) < float("inf"):
            raise SeqkitError(f"notes-chords: tolerance must be 0 or more seconds, not {tolerance}")
        if program is not None and not 0 <= int(program) <= 127:
            raise SeqkitError(f"notes-chords: program must be a General MIDI program 0..127, not {program}")
        self.step_seconds, self.tolerance, self.program = float(step_seconds), float(tolerance), program

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"NotesChordsTokenizer(vocab_size={self.vocab_size})"

    @classmethod
    def build(cls, sequences: Iterable[Iterable[Iterable[int]]], min_count: int = 1, **options):
        """A vocabulary of every note/chord seen at least ``min_count`` times in step sequences."""
        counts = Counter(step_symbol(s) for seq in sequences for s in seq)
        kept = [s for s, n in counts.items() if n >= min_count]
        kept.sort(key=lambda s: (s.count("."), symbol_step(s)))  # notes first, then chords
        return cls(kept, **options)

    def steps(self, source) -> list[tuple[int, ...]]:
        """A MIDI file (path, bytes or ``symusic.Score``) as onset steps, with this tokenizer's settings."""
        return midi_steps(source, self.program, self.tolerance)

    def encode(self, x, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Ids of a MIDI file (path/bytes/``symusic.Score``), a list of steps (pitch tuples) or a string
        of symbols separated by spaces (``"C4 E4.G4"``)."""
        if isinstance(x, str) and not x.lower().endswith((".mid", ".midi")):
            symbols = x.split()
        else:
            if isinstance(x, (str, Path, bytes, bytearray)) or hasattr(x, "tracks"):
                x = self.steps(x)
            symbols = [step_symbol(s) for s in x]
        ids = [self.stoi.get(s, self.unk_id) for s in symbols]
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def decode(self, ids: Iterable[int], stop_at_eos: bool = True) -> list[tuple[int, ...]]:
        """Steps (sorted pitch tuples); special tokens are skipped, decoding stops at ``<eos>``."""
        out = []
        for i in ids:
            i = int(i)
            if stop_at_eos and i == self.eos_id:
                break
            if 4 <= i < len(self.itos):
                out.append(symbol_step(self.itos[i]))
        return out

    def decode_symbols(self, ids: Iterable[int]) -> str:
        return " ".join(step_symbol(s) for s in self.decode(ids))

    # -- the music commands' tokenizer contract (docs/music.md) --------------------------------
    def cache_key(self) -> str:
        """The settings and MIDI parser that change :meth:`steps` (the vocabulary is learned apart)."""
        import symusic

        return f"notes-chords-v1-symusic{symusic.__version__}-p{self.program}-t{self.tolerance:g}"

    @property
    def tokens_per_second(self) -> float:
        return 1.0 / self.step_seconds

    def token_seconds(self, ids: Iterable[int]):
        """The time (s) reached after each token: one ``step_seconds`` per note/chord token."""
        import numpy as np

        ids = np.asarray(list(ids), dtype=np.int64)
        return np.cumsum((ids >= 4) & (ids < len(self.itos))) * self.step_seconds

    def decode_notes(self, ids: Iterable[int]):
        """Notes ``[N, 4]`` (start s, end s, pitch, velocity 80) as :meth:`to_midi` plays them."""
        import numpy as np

        rows = [(k * self.step_seconds, (k + 1) * self.step_seconds, p, 80)
                for k, step in enumerate(self.decode(ids)) for p in step]
        return np.asarray(rows, dtype=np.float64).reshape(-1, 4)

    def decode_midi(self, ids: Iterable[int]):
        """A ``PrettyMIDI`` of any id sequence (one step every ``step_seconds``)."""
        return self.to_midi(self.decode(ids), program=self.program or 0)

    def to_midi(self, steps: Iterable[Iterable[int]], program: int = 0, velocity: int = 80):
        """A PrettyMIDI playing one step every ``step_seconds`` (each lasting one step)."""
        import pretty_midi

        pm = pretty_midi.PrettyMIDI()
        inst = pretty_midi.Instrument(program=program)
        for k, step in enumerate(steps):
            start = k * self.step_seconds
            for p in step:
                inst.notes.append(pretty_midi.Note(velocity, int(p), start, start + self.step_seconds))
        pm.instruments.append(inst)
        return pm

    def to_dict(self) -> dict:
        return {"type": self.type, "symbols": self.symbols, "step_seconds": self.step_seconds,
                "tolerance": self.tolerance, "program": self.program}

    @classmethod
    def from_dict(cls, d: dict) -> NotesChordsTokenizer:
        return cls(d["symbols"], d.get("step_seconds", 0.25), d.get("tolerance", 0.05), d.get("program"))
