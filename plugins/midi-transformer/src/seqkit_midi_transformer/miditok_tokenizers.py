"""miditok's tokenizers as music tokenizer types: ``remi``, ``tsd``, ``midilike``, ``structured``
and the multi-track ``mmm``.

Each wraps a miditok tokenizer (built on symusic) behind the music tokenizer contract
(docs/music.md). Settings come through ``--tokenizer-option`` (the keyword parameters of
``__init__``: velocities, beat resolution, pitch range, programs, chords, rests, tempos, pedals);
``to_dict()`` records miditok's own parameter file (its ``save`` format, vocabulary included), so
a checkpoint rebuilds exactly the tokenizer it was trained with.

Without ``use_programs`` the non-drum tracks are merged into one (as the performance encoding
does) and encoded as one stream; with ``use_programs=true`` (and always for ``mmm``) every track
is kept and the stream carries Program tokens. Drum tracks are dropped unless ``drums=true``.
miditok works in beats: times follow the file's tempo only with ``use_tempos=true``; decoding
otherwise plays at 120 bpm (MAESTRO's own tempo).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from seqkit import SeqkitError


def _range(text: str, what: str) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in str(text).split("-"))
    except ValueError:
        raise SeqkitError(f"{what} takes LOW-HIGH, e.g. 21-109, not {text!r}") from None
    return lo, hi


def parse_beat_res(text: str) -> dict[tuple[int, int], int]:
    """``"0-4:8,4-12:4"`` -> ``{(0, 4): 8, (4, 12): 4}`` (beats from-to: positions per beat)."""
    out = {}
    for part in str(text).split(","):
        span, _, res = part.partition(":")
        try:
            (lo, hi), res = _range(span, "beat_res"), int(res)
        except ValueError:
            raise SeqkitError(f"beat_res takes FROM-TO:RES,..., e.g. 0-4:8,4-12:4, not {text!r}") from None
        if not 0 <= lo < hi or not 1 <= res <= 1024:  # miditok would resample to 0 ticks per beat
            raise SeqkitError(f"beat_res {part!r}: beats FROM-TO need 0 <= FROM < TO and RES (positions per "
                              f"beat) from 1 to 1024, e.g. 0-4:8,4-12:4")
        out[(lo, hi)] = res
    return out


class MiditokTokenizer:
    """A miditok tokenizer behind the music tokenizer contract (see the module docstring)."""

    type = ""
    miditok_class = ""
    multitrack = False  # mmm: always every track, with Program tokens

    def __init__(self, num_velocities: int = 32, beat_res: str = "0-4:8,4-12:4", pitch_range: str = "21-109",
                 use_programs: bool = False, use_chords: bool = False, use_rests: bool = False,
                 use_tempos: bool = False, use_time_signatures: bool = True,
                 use_sustain_pedals: bool = False, drums: bool = False):
        import miditok

        try:
            config = miditok.TokenizerConfig(
                pitch_range=_range(pitch_range, "pitch_range"), beat_res=parse_beat_res(beat_res),
                num_velocities=int(num_velocities), use_programs=bool(use_programs or self.multitrack),
                use_chords=bool(use_chords), use_rests=bool(use_rests), use_tempos=bool(use_tempos),
                use_time_signatures=bool(use_time_signatures), use_sustain_pedals=bool(use_sustain_pedals),
                **({"base_tokenizer": "REMI"} if self.multitrack else {}))
            self._setup(getattr(miditok, self.miditok_class)(config), drums)
        except (ValueError, TypeError, AssertionError) as exc:  # miditok's checks of its config
            raise SeqkitError(f"{self.type}: {exc}") from None

    def _setup(self, tok, drums: bool) -> None:
        self.tok = tok
        self.drums = bool(drums)
        self.vocab_size = len(tok)
        self.pad_id = tok.pad_token_id
        self.bos_id, self.eos_id = tok["BOS_None"], tok["EOS_None"]
        self.unk_id = None
        self._special = {tok[f"{s}_None"] for s in ("PAD", "BOS", "EOS", "MASK") if f"{s}_None" in tok.vocab}

    # -- encoding ---------------------------------------------------------------------------
    def _prepare(self, score):
        """The score as this tokenizer reads it: drums dropped (unless ``drums``), and without
        programs the other tracks merged into one."""
        from symusic import Track

        tracks = [t for t in score.tracks if len(t.notes) and (self.drums or not t.is_drum)]
        out = score.copy()
        out.tracks.clear()
        if self.tok.config.use_programs or len(tracks) <= 1:
            out.tracks.extend(tracks)
            return out
        merged = Track(name="merged", program=tracks[0].program, is_drum=tracks[0].is_drum)
        for t in tracks:
            merged.notes.extend(t.notes)
            merged.controls.extend(t.controls)
            merged.pedals.extend(t.pedals)
        merged.notes.sort()
        merged.controls.sort()
        merged.pedals.sort()
        out.tracks.append(merged)
        return out

    def encode(self, x, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Ids of a MIDI file (path), its bytes or a ``symusic.Score``."""
        from .midi_read import load_midi

        score = self._prepare(load_midi(x))
        ids: list[int] = []
        if score.tracks:
            seq = self.tok.encode(score)
            if isinstance(seq, list):  # one sequence per track (here: the one merged track)
                seq = seq[0]
            ids = list(seq.ids)
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    # -- decoding ---------------------------------------------------------------------------
    def decode_score(self, ids: Iterable[int]):
        """A ``symusic.Score`` of any id sequence (special tokens skipped, ``<eos>`` stops;
        a sequence miditok cannot read gives an empty score)."""
        from symusic import Score

        clean = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if 0 <= i < self.vocab_size and i not in self._special:
                clean.append(i)
        if not clean:
            return Score()
        try:
            return self.tok.decode(clean if self.tok.one_token_stream else [clean])
        except Exception:  # noqa: BLE001 - a sampled sequence miditok cannot parse: no notes
            return Score()

    def decode_notes(self, ids: Iterable[int]) -> np.ndarray:
        """Float notes (start s, end s, pitch, velocity) of any id sequence."""
        score = self.decode_score(ids).to("second")
        rows = []
        for t in score.tracks:
            n = t.notes.numpy()
            rows.append(np.stack([n["time"], n["time"] + n["duration"], n["pitch"], n["velocity"]], 1)
                        .astype(np.float64))
        if not rows:
            return np.zeros((0, 4))
        notes = np.concatenate(rows)
        return notes[np.lexsort((notes[:, 2], notes[:, 0]))]

    def decode_midi(self, ids: Iterable[int]):
        """A ``pretty_midi.PrettyMIDI`` (what ``generate`` writes and renders)."""
        import io
        import warnings

        import pretty_midi

        score = self.decode_score(ids)
        if not score.tracks:
            return pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pretty_midi.PrettyMIDI(io.BytesIO(score.dumps_midi()))

    def describe(self, i: int) -> str:
        i = int(i)
        return self.tok[i] if 0 <= i < self.vocab_size else f"<{i}?>"

    # -- what the ids mean (the sampling controls) --------------------------------------------
    def token_meanings(self) -> dict:
        """What every id means, for the sampling controls (``controls.py``; the contract of
        ``PerformanceTokenizer.token_meanings``): ``Pitch_p``/``NoteOn_p`` are note-ons of pitch
        p, and so are ``PitchDrum_p``/``DrumOn_p`` without ``drums`` (miditok keeps them in the
        vocabulary, and in a stream without a drum track they decode as pitched notes; with
        ``drums`` they are drum hits, which no control restricts), ``NoteOff_p`` note-offs, ``Velocity_v`` velocities v, and the tokens that move time on
        are time shifts: ``TimeShift`` (its length in seconds) and, for REMI and MMM, ``Bar`` (a
        4/4 bar) and ``Position_k`` (k's offset in the bar), all at 120 quarter notes a minute.
        The real time of a stream comes from ``clock`` (``token_clock``), since a position is a
        place in the bar, not a step. With ``use_rests`` there is no clock (``untimed``): miditok
        counts a rest from the end of the notes before it, so time depends on their durations.
        Velocity tokens follow their note here, so ``velocity_after_note`` is set (the controls
        then leave note-ons alone)."""
        m = self._vocab_meanings()
        return {"kind": m["kind"], "value": m["value"], "velocity_start": None, "velocity_after_note": True,
                "clock": None if m["rests"] else self.token_clock, "untimed": m["rests"]}

    def _vocab_meanings(self) -> dict:
        if getattr(self, "_meanings", None) is not None:
            return self._meanings
        n = self.vocab_size
        kind = np.full(n, "other", dtype=object)
        value = np.zeros(n)
        res = float(self.tok.config.max_num_pos_per_beat)
        nan = np.full(n, np.nan)
        adv, pos, num, den, tempo = nan.copy(), nan.copy(), nan.copy(), nan.copy(), nan.copy()
        is_bar, is_reset = np.zeros(n, bool), np.zeros(n, bool)
        rests = False
        for i in range(n):
            name, _, arg = self.tok[i].partition("_")
            try:
                if name in ("Pitch", "NoteOn") or (name in ("PitchDrum", "DrumOn") and not self.drums):
                    kind[i], value[i] = "note_on", float(arg)  # a drum token without drums plays a pitch
                elif name == "NoteOff" or (name == "DrumOff" and not self.drums):
                    kind[i], value[i] = "note_off", float(arg)
                elif name == "Velocity":
                    kind[i], value[i] = "velocity", float(arg)
                elif name in ("TimeShift", "Rest"):
                    rests |= name == "Rest"
                    whole, frac, div = (int(v) for v in arg.split("."))
                    adv[i] = whole + frac / div  # beats
                    kind[i], value[i] = "time_shift", adv[i] * 0.5
                elif name == "Position":
                    pos[i] = int(arg) / res
                    kind[i], value[i] = "time_shift", pos[i] * 0.5
                elif name == "Bar":
                    is_bar[i] = True
                    kind[i], value[i] = "time_shift", 2.0
                elif name == "TimeSig":
                    num[i], den[i] = (int(v) for v in arg.split("/"))
                elif name == "Tempo":
                    tempo[i] = float(arg)
                elif name == "Track" and arg == "Start":
                    is_reset[i] = True
            except ValueError:  # a token of a form this reading does not know: "other"
                kind[i], value[i] = "other", 0.0
        self._meanings = {"kind": kind, "value": value, "adv": np.nan_to_num(adv), "pos": pos, "num": num,
                          "den": den, "tempo": tempo, "is_bar": is_bar, "is_reset": is_reset,
                          "has_bars": bool(is_bar.any()), "rests": rests}
        return self._meanings

    def token_clock(self, tokens) -> np.ndarray:
        """Seconds reached after each token, per row of ``tokens`` ``[B, T]`` (vectorised, for
        the controls at every step): beats from time shifts and rests, or (REMI, MMM) from bars
        and positions, each bar as long as its time signature (4/4 before any), the clock starting
        again at each ``Track_Start`` (MMM's tracks each start at 0); beats of the time signature's unit, at the last tempo token
        (120 quarter notes a minute before any: what decoding plays). Exact for streams without
        rests (``token_meanings``)."""
        m = self._vocab_meanings()
        tok = np.atleast_2d(np.asarray(tokens, dtype=np.int64))
        tok = np.clip(tok, 0, self.vocab_size - 1)
        b, t = tok.shape
        if t == 0:
            return np.zeros((b, 0))
        idx = np.broadcast_to(np.arange(t), (b, t))

        def last(mask):  # index of the last token with mask, at or before each place (-1: none)
            return np.maximum.accumulate(np.where(mask, idx, -1), axis=1)

        def ffill(values, default):
            where = last(~np.isnan(values[tok]))
            return np.where(where >= 0, values[np.take_along_axis(tok, np.maximum(where, 0), 1)], default)

        num, den, tempo = ffill(m["num"], 4.0), ffill(m["den"], 4.0), ffill(m["tempo"], 120.0)
        reset = last(m["is_reset"][tok])
        if m["has_bars"]:
            bar = m["is_bar"][tok]
            prev_bar = np.concatenate([np.full((b, 1), -1), last(bar)[:, :-1]], 1)
            prev_num = np.concatenate([np.full((b, 1), 4.0), num[:, :-1]], 1)
            # a bar ends where the next one starts (in the same track): its length, the signature before
            ends = bar & (prev_bar > reset)
            done = np.cumsum(np.where(ends, prev_num, 0.0), 1)
            done -= np.where(reset >= 0, np.take_along_axis(done, np.maximum(reset, 0), 1), 0.0)
            lp = last(~np.isnan(m["pos"][tok]))
            lb = np.maximum(last(bar), reset)
            in_bar = np.where(lp > lb, m["pos"][np.take_along_axis(tok, np.maximum(lp, 0), 1)], 0.0)
            beats = done + in_bar
        else:
            steps = m["adv"][tok]
            beats = np.cumsum(steps, 1)
            beats -= np.where(reset >= 0, np.take_along_axis(beats, np.maximum(reset, 0), 1), 0.0)
        # seconds: each step of beats at the tempo and unit in force, from 0 again at each track
        step = np.diff(beats, axis=1, prepend=0.0).clip(min=0.0)
        secs = np.cumsum(step * (60.0 / tempo) * (4.0 / den), 1)
        return secs - np.where(reset >= 0, np.take_along_axis(secs, np.maximum(reset, 0), 1), 0.0)

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """miditok's own parameter file (vocabulary included) and this wrapper's settings."""
        with tempfile.TemporaryDirectory() as tmp:
            self.tok.save(Path(tmp), filename="tokenizer.json")
            params = json.loads((Path(tmp) / "tokenizer.json").read_text())
        return {"type": self.type, "drums": self.drums, "miditok": params}

    @classmethod
    def from_dict(cls, d: dict):
        import miditok

        params = d.get("miditok")
        if not isinstance(params, dict):
            raise SeqkitError(f"{cls.type} tokenizer: the checkpoint records no miditok parameters")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tokenizer.json"
            path.write_text(json.dumps(params))
            try:
                tok = getattr(miditok, cls.miditok_class)(params=path)
            except Exception as exc:  # noqa: BLE001 - a parameter file of another miditok version
                raise SeqkitError(f"{cls.type} tokenizer: miditok cannot read the recorded parameters ({exc})") from None
        obj = cls.__new__(cls)
        obj._setup(tok, d.get("drums", False))
        return obj

    def cache_key(self) -> str:
        """Tokenizer type, its whole miditok configuration, miditok's version and the parser."""
        import hashlib
        from importlib.metadata import version

        from .midi_read import parser_key

        config = json.dumps(self.tok.config.to_dict(serialize=True), sort_keys=True, default=str)
        digest = hashlib.sha256(config.encode()).hexdigest()[:12]
        return f"{self.type}-miditok{version('miditok')}-{parser_key()}-{digest}-d{int(self.drums)}"

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


class RemiTokenizer(MiditokTokenizer):
    """REMI (Huang and Yang 2020): Bar, Position, Pitch, Velocity, Duration."""

    type, miditok_class = "remi", "REMI"


class TSDTokenizer(MiditokTokenizer):
    """TSD: TimeShift, Pitch, Velocity, Duration."""

    type, miditok_class = "tsd", "TSD"


class MIDILikeTokenizer(MiditokTokenizer):
    """MIDI-Like (Oore et al. 2018 in beats): NoteOn, NoteOff, Velocity, TimeShift."""

    type, miditok_class = "midilike", "MIDILike"


class StructuredTokenizer(MiditokTokenizer):
    """Structured (Hadjeres and Crestel 2021): Pitch, Velocity, Duration, TimeShift, always in
    this order."""

    type, miditok_class = "structured", "Structured"


class MMMTokenizer(MiditokTokenizer):
    """MMM (Ens and Pasquier 2020): multi-track, each track a REMI sequence between Track tokens."""

    type, miditok_class, multitrack = "mmm", "MMM", True
