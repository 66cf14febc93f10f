"""What a well-formed ABC tune header may hold: the field letters, the known keys, metres, unit note
lengths and tempos. One place for the sampler's mask (``constraints``), the validity report
(``validity``), key transposition (``transpose``) and the ``--key``/``--meter``/``--unit`` checks.

Plain Python (no torch, no numpy).
"""

from __future__ import annotations

import re

from seqkit import SeqkitError

# Tune-header fields of ABC 2.1 that the course data uses in headers; left out: I: (instructions:
# their values must be directives the reader knows), F: (file URL), G: (group, obsolete), U:
# (user-defined symbols), m:/r:/s:/w: (macros, remarks, symbol and lyric lines under music), and
# V: (voices: no val.txt tune has one, and music21 cannot expand repeats across voices).
HEADER_FIELDS = "ABCDHKLMNOPQRSTWXZ"
# Decorations (``!name!``) the sampler may write: those of the course data and ABC 2.1's common ones.
DECORATIONS = ("breath", "+", "D.C.", "D.S.", "fine", "tenuto", "fermata", "trill", "accent",
               "emphasis", "segno", "coda", "Coda", "mordent", "lowermordent", "uppermordent",
               "roll", "turn", "upbow", "downbow", "rit", "tempo", "trio",
               "ppp", "pp", "p", "mp", "mf", "f", "ff", "fff")
# fields whose value has a closed vocabulary (everything else is free text up to the newline)
CLOSED_FIELDS = "XKMLQ"

LETTER_INDEX = {c: i for i, c in enumerate("CDEFGAB")}
LETTER_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}
# mode -> fifths relative to the major key on the same tonic (ABC reads the first 3 letters, any case)
MODES = {"": 0, "maj": 0, "ion": 0, "m": -3, "min": -3, "aeo": -3, "mix": -1, "dor": -2, "phr": -4,
         "lyd": 1, "loc": -5}
MODE_SPELLINGS = ("", "m", "min", "minor", "maj", "major", "ion", "aeo", "mix", "Mix", "mixo", "dor",
                  "Dor", "phr", "Phr", "lyd", "Lyd", "loc", "Loc")
_KEY = re.compile(r"^\s?([A-G])([#b]?)([A-Za-z]*)$")


def key_fifths(value: str) -> int | None:
    """The key signature of a ``K:`` value as fifths (+ sharps, - flats), or None when the value
    is not a known key (modes, ``HP``, ``none``, clefs and transpositions are not accepted)."""
    m = _KEY.match(value)
    if not m:
        return None
    letter, acc, mode = m.groups()
    mode_key = mode[:3].lower() if mode.lower() not in ("m",) else "m"
    if mode and mode not in MODE_SPELLINGS:
        return None
    if mode_key not in MODES:
        return None
    fifths = LETTER_FIFTHS[letter] + {"": 0, "#": 7, "b": -7}[acc] + MODES[mode_key]
    return fifths if -7 <= fifths <= 7 else None


def _known_keys() -> list[str]:
    keys = []
    for letter in "ABCDEFG":
        for acc in ("", "#", "b"):
            for mode in MODE_SPELLINGS:
                value = f"{letter}{acc}{mode}"
                if key_fifths(value) is not None:
                    keys.append(value)
    return keys


KEYS = tuple(_known_keys())
METERS = ("C", "C|") + tuple(f"{n}/{d}" for d in (1, 2, 4, 8, 16) for n in range(1, 17))
UNITS = tuple(f"1/{d}" for d in (1, 2, 4, 8, 16, 32, 64))
TEMPOS = tuple(f"{b}={bpm}" for b in ("1/2", "3/8", "1/4", "3/4", "1/8", "3/16", "1/16")
               for bpm in range(20, 321))


def values(field: str) -> tuple[str, ...]:
    """The closed vocabulary of ``field`` (K, M, L, Q); each may also follow one space."""
    return {"K": KEYS, "M": METERS, "L": UNITS, "Q": TEMPOS}[field]


def known(field: str, value: str) -> bool:
    """Is ``value`` (what follows ``field:`` up to the newline) in the field's vocabulary?"""
    value = value.rstrip()
    if field == "X":
        return value.strip().isdigit()
    v = value[1:] if value.startswith(" ") else value
    return v in values(field)


def meter_length(value: str) -> float | None:
    """A metre's bar length in whole notes (``C`` = 4/4, ``C|`` = 2/2)."""
    value = value.strip()
    if value in ("C", "C|"):
        return 1.0
    num, _, den = value.partition("/")
    if not (num.isdigit() and den.isdigit()) or int(den) == 0:
        return None
    return int(num) / int(den)


def unit_length(value: str) -> float | None:
    num, _, den = value.strip().partition("/")
    if not (num.isdigit() and den.isdigit()) or int(den) == 0:
        return None
    return int(num) / int(den)


def check_fixed(key: str | None, meter: str | None, unit: str | None) -> None:
    """One ``SeqkitError`` line for a ``--key``/``--meter``/``--unit`` outside the vocabulary."""
    for flag, field, value, examples in (("--key", "K", key, "G, Dmix, Ador, Bbmaj, F#m"),
                                         ("--meter", "M", meter, "6/8, 3/4, C|"),
                                         ("--unit", "L", unit, "1/8, 1/16")):
        if value is not None and not known(field, value):
            raise SeqkitError(f"{flag} {value!r} is not a known ABC {'key' if field == 'K' else 'value'} "
                              f"(e.g. {examples})")
