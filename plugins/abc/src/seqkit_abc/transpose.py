"""Key transposition of ABC tunes, for data augmentation (``seqkit abc train --transpose N``).

A transposition is a spelled interval: ``fifths`` (its place on the circle of fifths: +2 is a
major second up) and ``steps`` (letter names moved: +1). The ``K:`` field (header, body and inline
``[K:...]``) moves by the same interval, so a note without an accidental needs none after: the key
signature carries it. Explicit accidentals (``^``, ``_``, ``=``, doubled) are absolute pitches and
are respelled; octave marks follow the letter (``B`` up a second is ``c``). Chord symbols in quotes
(``"Am"``, ``"D7/F#"``) move too. A tune whose key is not a known key (``K:HP``, ``K:none``), or
whose respelling would need a triple accidental or more than ``MAX_FIFTHS`` sharps or flats, is
not transposed (``None``).
"""

from __future__ import annotations

import random
import re

from .grammar import LETTER_FIFTHS, LETTER_INDEX, key_fifths

# (fifths, letter steps) of the intervals used, with their size in semitones
INTERVALS = {1: (-5, 1), -1: (5, -1), 2: (2, 1), -2: (-2, -1), 3: (-3, 2), -3: (3, -2), 4: (4, 2),
             -4: (-4, -2), 5: (-1, 3), -5: (1, -3)}
MAX_FIFTHS = 4  # keep to keys of at most 4 sharps or flats (the data's keys: Bb ... A)
LETTERS = "CDEFGAB"
_ACC = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
_ACC_TEXT = {v: k for k, v in _ACC.items()}
_NOTE = re.compile(r"(\^\^|\^|=|__|_)?([A-Ga-g])([',]*)")
_CHORD = re.compile(r"^([A-G])([#b]?)([^/]*)(?:/([A-G])([#b]?)(.*))?$")
_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")


class Untransposable(Exception):
    pass


def _spell(fifths: int) -> tuple[str, int]:
    """The letter and accidental (-2..2) of a pitch class given as fifths from C."""
    for letter, lf in LETTER_FIFTHS.items():
        if (fifths - lf) % 7 == 0:
            acc = (fifths - lf) // 7
            if abs(acc) > 2:
                raise Untransposable(f"accidental {acc}")
            return letter, acc
    raise AssertionError(fifths)


def _move_pitch(letter: str, acc: int, fifths: int) -> tuple[str, int]:
    return _spell(LETTER_FIFTHS[letter] + 7 * acc + fifths)


def _key(value: str, fifths: int) -> str:
    lead = value[:len(value) - len(value.lstrip())]
    first, sep, rest = value.strip().partition(" ")
    old = key_fifths(first)
    if old is None:
        raise Untransposable(f"key {value!r}")
    if abs(old + fifths) > MAX_FIFTHS:
        raise Untransposable("too many sharps or flats")
    acc = first[1] if first[1:2] in ("#", "b") else ""
    letter, new_acc = _move_pitch(first[0], {"": 0, "#": 1, "b": -1}[acc], fifths)
    if abs(new_acc) > 1:
        raise Untransposable("double-sharp tonic")
    return f"{lead}{letter}{ {0: '', 1: '#', -1: 'b'}[new_acc]}{first[1 + len(acc):]}{sep}{rest}"


def _chord(text: str, fifths: int) -> str:
    m = _CHORD.match(text)
    if not m:
        return text  # an annotation or something else: left alone
    root, acc, kind, bass, bass_acc, tail = m.groups()

    def move(letter, a):
        new, new_acc = _move_pitch(letter, {"": 0, "#": 1, "b": -1}[a], fifths)
        if abs(new_acc) > 1:
            raise Untransposable("chord symbol")
        return new + {0: "", 1: "#", -1: "b"}[new_acc]

    out = move(root, acc) + kind
    if bass is not None:
        out += "/" + move(bass, bass_acc) + (tail or "")
    return out


def _note(acc: str | None, letter: str, marks: str, fifths: int, steps: int) -> str:
    octave = (1 if letter.islower() else 0) + marks.count("'") - marks.count(",")
    pos = LETTER_INDEX[letter.upper()] + 7 * octave + steps
    new_letter, new_octave = LETTERS[pos % 7], pos // 7
    text = new_letter.lower() if new_octave >= 1 else new_letter
    text += "'" * (new_octave - 1) if new_octave >= 1 else "," * (-new_octave)
    if acc is None:
        return text
    spelled, new_acc = _move_pitch(letter.upper(), _ACC[acc], fifths)
    assert spelled == new_letter
    return _ACC_TEXT[new_acc] + text


def _music(line: str, fifths: int, steps: int) -> str:
    """One line of music: notes, chord symbols and inline ``[K:...]`` fields moved; decorations
    (``!...!``), annotations, comments and other inline fields kept."""
    out, i, n = [], 0, len(line)
    while i < n:
        c = line[i]
        if c == "%":
            out.append(line[i:])
            break
        if c in "\"!":
            j = line.find(c, i + 1)
            if j < 0:  # an unclosed quote, or ! as an old line-break mark
                out.append(c)
                i += 1
                continue
            inner = line[i + 1:j]
            out.append(c + (_chord(inner, fifths) if c == '"' else inner) + c)
            i = j + 1
            continue
        if c == "[" and i + 2 < n and line[i + 1].isalpha() and line[i + 2] == ":":
            j = line.find("]", i)
            j = n if j < 0 else j
            value = line[i + 3:j]
            out.append(line[i:i + 3] + (_key(value, fifths) if line[i + 1] == "K" else value))
            i = j
            continue
        m = _NOTE.match(line, i)
        if m:
            out.append(_note(m.group(1), m.group(2), m.group(3), fifths, steps))
            i = m.end()
            continue
        out.append(c)
        i += 1
    return "".join(out)


def transpose(tune: str, semitones: int) -> str | None:
    """``tune`` moved by ``semitones`` (one of ``INTERVALS``), or None when it cannot be."""
    if semitones == 0:
        return tune
    fifths, steps = INTERVALS[semitones]
    lines, seen_key = [], False
    try:
        for line in tune.split("\n"):
            field = _FIELD_LINE.match(line)
            if field and field.group(1) == "K":
                lines.append("K:" + _key(field.group(2), fifths))
                seen_key = True
            elif field or line.startswith("%"):
                lines.append(line)
            else:
                lines.append(_music(line, fifths, steps))
    except Untransposable:
        return None
    return "\n".join(lines) if seen_key else None


def augment(tunes: list[str], copies: int, seed: int = 0) -> list[str]:
    """The tunes, then ``copies`` transposed versions of each (distinct random intervals, fixed
    seed; fewer for a tune that cannot be moved to some keys)."""
    if copies <= 0:
        return list(tunes)
    rng = random.Random(seed)
    out = list(tunes)
    for tune in tunes:
        shifts = list(INTERVALS)
        rng.shuffle(shifts)
        made = 0
        for s in shifts:
            if made == copies:
                break
            moved = transpose(tune, s)
            if moved is not None:
                out.append(moved)
                made += 1
    return out
