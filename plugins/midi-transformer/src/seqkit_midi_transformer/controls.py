"""Sampling controls for ``seqkit music generate``: key, pitch range, velocity range and note
density, as core logit processors (``seqkit.generation.LogitProcessor``: ``(tokens [B, T], logits [B, V])
-> logits``, numpy on the torch and the ONNX Runtime paths alike).

They know what ids mean only through a tokenizer's ``token_meanings()`` (see
``PerformanceTokenizer.token_meanings``): for every id its ``kind`` (``KINDS``) and ``value``
(pitch, seconds of a time shift, the velocity a bin decodes to). Optional: ``velocity_start``
(the velocity before any velocity token), ``velocity_after_note`` (a velocity token follows its
note, as in miditok's streams, instead of setting the velocity of the notes after it) and
``clock`` (``tokens [B, T] -> seconds [B, T]`` reached after each token, where time is not the
sum of the time shifts: REMI's bars and positions). A tokenizer without ``token_meanings()``
cannot offer the controls (one error line).

* ``KeyBias``: note-ons of pitch classes outside the key get ``-strength`` (``strength >=
  KEY_MASK``: forbidden).
* ``PitchRange``: note-ons outside ``[low, high]`` are forbidden.
* ``VelocityRange``: velocity tokens that decode outside ``[low, high]`` are forbidden, and so are
  note-ons while the stream's current velocity (from the primer, or the default) is outside
  (not where each note's velocity token follows it).
* ``Density``: steers the note-on rate toward ``target`` notes per second: a bias
  ``b = gain * (log(target / recent) + log(target / overall))`` (clipped to ``±limit``) added to
  note-ons and taken from time shifts (scaled by the shift's length), where ``recent`` is the rate
  over the last ``window`` seconds of generated time and ``overall`` over all of it (a
  proportional term and a slow, integral-like one). Recomputed from the tokens at every step.
"""

from __future__ import annotations

import re

import numpy as np

from seqkit import SeqkitError

from .bounds import KEY_CHOICES, KEY_MASK, KEY_NAMES  # noqa: F401 - KEY_CHOICES for callers

KINDS = ("note_on", "note_off", "time_shift", "velocity", "other")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])  # natural minor, as features.in_scale_rate counts


def meanings(tok, what: str) -> dict:
    """The tokenizer's ``token_meanings()``, or one error naming the control ``what``."""
    fn = getattr(tok, "token_meanings", None)
    if fn is None:
        raise SeqkitError(f"{what} needs a tokenizer that says what its ids mean; this model's "
                          f"{getattr(tok, 'type', type(tok).__name__)} tokenizer does not (use a performance model)")
    m = fn()
    return {"kind": np.asarray(m["kind"]), "value": np.asarray(m["value"], dtype=np.float64),
            "velocity_start": m.get("velocity_start"), "velocity_after_note": bool(m.get("velocity_after_note")),
            "clock": m.get("clock"), "untimed": bool(m.get("untimed"))}


# -- parsing -------------------------------------------------------------------------------------
def parse_key(text: str) -> tuple[int, str]:
    """``(tonic pitch class, "major"|"minor")`` of e.g. ``D minor``, ``F# major``, ``Bb``, ``Am``."""
    m = re.fullmatch(r"\s*([A-Ga-g])\s*([#b♯♭]?)\s*(major|minor|maj|min|m|)\s*", str(text), re.I)
    if not m:
        raise SeqkitError(f"--key {text!r} is not a key: give a note A-G, optionally # or b, and major or "
                          "minor (e.g. \"D minor\", \"F# major\"), or auto")
    pc = (_PC[m.group(1).upper()] + {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(m.group(2), 0)) % 12
    mode = "minor" if m.group(3).lower() in ("minor", "min", "m") else "major"
    return pc, mode


def key_name(pc: int, mode: str) -> str:
    return f"{KEY_NAMES[pc % 12]} {mode}"


def parse_pitch(text: str) -> int:
    """A MIDI number of ``60``, ``C4`` (middle C), ``F#3``, ``Bb-1``."""
    t = str(text).strip()
    if re.fullmatch(r"\d+", t):
        n = int(t)
    else:
        m = re.fullmatch(r"([A-Ga-g])([#b]?)(-?\d+)", t)
        if not m:
            raise SeqkitError(f"--pitch-range: {text!r} is not a note: give a name with its octave (C4 is "
                              "middle C) or a MIDI number 0-127")
        n = _PC[m.group(1).upper()] + {"#": 1, "b": -1}.get(m.group(2), 0) + 12 * (int(m.group(3)) + 1)
    if not 0 <= n <= 127:
        raise SeqkitError(f"--pitch-range: {text!r} is outside MIDI's 0-127")
    return n


def _pair(text: str, flag: str, parse, form: str) -> tuple:
    parts = str(text).split(":")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise SeqkitError(f"{flag} {text!r}: give {form}")
    lo, hi = parse(parts[0]), parse(parts[1])
    if lo > hi:
        raise SeqkitError(f"{flag} {text!r}: the low end is above the high end")
    return lo, hi


def parse_pitch_range(text: str) -> tuple[int, int]:
    return _pair(text, "--pitch-range", parse_pitch, "LOW:HIGH, e.g. C3:C6 or 48:84")


def parse_velocity(text: str) -> tuple[int, int]:
    def one(t: str) -> int:
        if not re.fullmatch(r"\s*\d+\s*", t) or not 1 <= int(t) <= 127:
            raise SeqkitError(f"--velocity {text!r}: velocities are whole numbers 1-127")
        return int(t)

    return _pair(text, "--velocity", one, "LOW:HIGH, velocities 1-127, e.g. 40:90")


# -- processors ----------------------------------------------------------------------------------
class KeyBias:
    """Note-ons outside the key's scale get ``-strength`` (forbidden at ``KEY_MASK`` or more)."""

    def __init__(self, m: dict, tonic: int, mode: str, strength: float):
        scale = np.zeros(12, bool)
        scale[(np.asarray(MAJOR if mode == "major" else MINOR) + tonic) % 12] = True
        on = m["kind"] == "note_on"
        self.ids = np.nonzero(on & ~scale[m["value"].astype(int) % 12])[0]
        self.bias = -np.inf if strength >= KEY_MASK else -float(strength)
        self.key = key_name(tonic, mode)

    def __call__(self, tokens, logits):
        logits[:, self.ids] += self.bias
        return logits


class PitchRange:
    """Note-ons outside ``[low, high]`` (MIDI numbers) are forbidden."""

    def __init__(self, m: dict, low: int, high: int):
        on = m["kind"] == "note_on"
        self.ids = np.nonzero(on & ((m["value"] < low) | (m["value"] > high)))[0]

    def __call__(self, tokens, logits):
        logits[:, self.ids] = -np.inf
        return logits


class VelocityRange:
    """Velocity tokens that decode outside ``[low, high]`` are forbidden, and note-ons too while
    a row's current velocity (its last velocity token, else the stream's start) is outside."""

    def __init__(self, m: dict, low: int, high: int):
        vel = m["kind"] == "velocity"
        inside = vel & (m["value"] >= low) & (m["value"] <= high)
        if not vel.any():
            raise SeqkitError("--velocity: this model's tokenizer writes no velocities")
        if not inside.any():
            values = sorted({int(v) for v in m["value"][vel]})
            near = min(values, key=lambda v: min(abs(v - low), abs(v - high)))
            raise SeqkitError(f"--velocity {low}:{high}: no velocity this model writes lies inside "
                              f"(it writes {', '.join(map(str, values[:2]))} ... {values[-1]}; the nearest is {near})")
        self.banned = np.nonzero(vel & ~inside)[0]
        self.is_vel = vel
        self.ok = inside
        self.notes = np.nonzero(m["kind"] == "note_on")[0]
        start = m.get("velocity_start")
        self.start_ok = start is not None and low <= start <= high
        self.gate_notes = not m.get("velocity_after_note")

    def __call__(self, tokens, logits):
        logits[:, self.banned] = -np.inf
        if not self.gate_notes:  # each note's own velocity token follows it: forbidding those is enough
            return logits
        last = np.where(self.is_vel[tokens], np.arange(tokens.shape[1]), -1).max(1)  # -1: none yet
        current = tokens[np.arange(len(tokens)), np.maximum(last, 0)]
        ok = np.where(last >= 0, self.ok[current], self.start_ok)
        # where the next note would sound at a velocity outside, a velocity token comes first
        logits[np.ix_(~ok, self.notes)] = -np.inf
        return logits


class Density:
    """Steers the note-on rate toward ``target`` per second (see the module doc)."""

    def __init__(self, m: dict, target: float, start: int, window: float = 3.0, gain: float = 6.0,
                 limit: float = 12.0):
        if m.get("untimed"):
            raise SeqkitError("--density cannot follow time in this model's tokens (miditok's rests, "
                              "use_rests, last from the end of the notes before them)")
        self.is_on = m["kind"] == "note_on"
        self.shift = np.where(m["kind"] == "time_shift", m["value"], 0.0)
        self.on_ids = np.nonzero(self.is_on)[0]
        self.shift_ids = np.nonzero(m["kind"] == "time_shift")[0]
        self.target, self.start, self.window, self.gain, self.limit = target, start, window, gain, limit
        self.clock = m.get("clock")
        # a shift's share of the bias grows with its length (0.1x for 10 ms, 1x at 100 ms, 3x from 300 ms):
        # too few notes makes long pauses rarer than short steps
        self.shift_scale = np.clip(m["value"][self.shift_ids] / 0.1, 0.1, 3.0).astype(np.float32)

    def rates(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row: notes per second over the last ``window`` s and over all the generated time."""
        new = tokens[:, self.start:]
        if self.clock is not None:  # time is not the sum of shifts (REMI): the tokenizer's clock
            clock = self.clock(tokens)
            before = clock[:, self.start - 1] if self.start > 0 else np.zeros(len(tokens))
            times = clock[:, self.start:] - before[:, None]
        else:
            times = np.cumsum(self.shift[new], axis=1)
        now = times[:, -1] if new.shape[1] else np.zeros(len(tokens))
        on = self.is_on[new]
        recent = (on & (times >= (now - self.window)[:, None])).sum(1)
        span = np.clip(np.minimum(now, self.window), 0.5, None)
        return recent / span, on.sum(1) / np.clip(now, 0.5, None)

    def bias(self, tokens: np.ndarray) -> np.ndarray:
        recent, total = self.rates(tokens)
        eps = 0.1 * self.target
        b = self.gain * (np.log(self.target / (recent + eps)) + np.log(self.target / (total + eps)))
        return np.clip(b, -self.limit, self.limit)

    def __call__(self, tokens, logits):
        b = self.bias(tokens).astype(np.float32)[:, None]
        logits[:, self.on_ids] += b
        logits[:, self.shift_ids] -= b * self.shift_scale
        return logits


def build(tok, *, key=None, key_strength=4.0, pitch_range=None, velocity=None, density=None,
          primer_notes=None, start: int = 0) -> tuple[list, dict]:
    """The processors for the controls given (values as the command line spells them) and what
    they resolved to (``key`` after ``auto``); one ``SeqkitError`` for any bad value. ``start``:
    the prompt's length (density counts only new tokens)."""
    parsed = check_values(key, key_strength, pitch_range, velocity, density)
    procs, info = [], {}
    if key is not None:
        m = meanings(tok, "--key")
        if "key" not in parsed:
            if primer_notes is None or not len(primer_notes):
                raise SeqkitError("--key auto keeps the primer's key: give a --primer with notes, or name a key")
            from .features import find_key

            parsed["key"] = find_key(np.asarray(primer_notes))
        p = KeyBias(m, *parsed["key"], key_strength)
        procs.append(p)
        info["key"] = p.key
    if "pitch" in parsed:
        procs.append(PitchRange(meanings(tok, "--pitch-range"), *parsed["pitch"]))
    if "velocity" in parsed:
        procs.append(VelocityRange(meanings(tok, "--velocity"), *parsed["velocity"]))
    if density is not None:
        procs.append(Density(meanings(tok, "--density"), float(density), start))
    return procs, info


def check_values(key=None, key_strength=4.0, pitch_range=None, velocity=None, density=None) -> dict:
    """The values alone (no model), parsed; one ``SeqkitError`` for the first bad one."""
    if key_strength is not None and key_strength < 0:
        raise SeqkitError(f"--key-strength {key_strength:g}: give 0 or more")
    if density is not None and not density > 0:
        raise SeqkitError(f"--density {density:g}: give notes per second above 0")
    parsed = {}
    if key is not None and str(key).strip().lower() != "auto":
        parsed["key"] = parse_key(key)
    if pitch_range is not None:
        parsed["pitch"] = parse_pitch_range(pitch_range)
    if velocity is not None:
        parsed["velocity"] = parse_velocity(velocity)
    return parsed
