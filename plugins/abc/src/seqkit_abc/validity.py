"""Is a tune well formed? The checks behind ``seqkit abc eval``'s validity report.

* ``header_ok``: the header (``X:`` through the first ``K:`` line) has a ``K:`` and an ``M:`` whose
  values are known (``grammar``: a key such as ``G``, ``Ador``, ``Bbmaj``; a metre such as ``6/8``,
  ``C|``), and a known unit note length: an ``L:1/N``, or no ``L:`` at all (the standard's default
  from the metre, as in 130 of the 153 val.txt tunes).
* ``bar_check``: every bar's notes add up to the metre. Durations count notes, rests, chords
  (``[CEG]2`` lasts as its first note), tuplets (``(3``, ``(p:q:r``) and lengths (``A3/2``,
  ``A//``); grace notes, chord symbols, decorations and broken rhythm (``A>B`` keeps the pair's
  length) add nothing. ``M:``/``L:`` changes in the body (lines or inline) are followed. A bar may
  be short (never over-full) when it is the first or the last of the tune (a pickup and its
  complement), or touches a repeat (``|:``, ``:|``, ``::``), an ending (``[1``, ``|2``) or a
  section line (``||``, ``|]``, ``[|``). Empty bars are ignored; a tune needs at least one full
  bar. A multi-measure rest (``Z``) bar is not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from .grammar import known, meter_length

_FIELD = re.compile(r"^([A-Za-z]):(.*)$")
_LEN = re.compile(r"(\d*)(/*)(\d*)")


def split_header(tune: str) -> tuple[list[str], list[str]]:
    """The header lines (through the first ``K:`` line) and the body lines."""
    lines = tune.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("K:"):
            return lines[:i + 1], lines[i + 1:]
    return lines, []


def header_fields(header: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in header:
        m = _FIELD.match(line)
        if m:
            fields.setdefault(m.group(1), m.group(2))
    return fields


def header_ok(tune: str) -> bool:
    header, _ = split_header(tune)
    fields = header_fields(header)
    if "L" in fields and not known("L", fields["L"]):
        return False
    return all(f in fields and known(f, fields[f]) for f in "KM")


def parse_fraction(value: str) -> Fraction | None:
    num, _, den = value.strip().partition("/")
    if not (num.isdigit() and den.isdigit()) or int(den) == 0:
        return None
    return Fraction(int(num), int(den))


def parse_meter(value: str) -> Fraction | None:
    v = value.strip()
    if v in ("C", "C|"):
        return Fraction(1)
    m = meter_length(v)
    return parse_fraction(v) if m is not None else None


def note_length(text: str, i: int) -> tuple[Fraction, int]:
    """A note length after position ``i`` (``2``, ``/``, ``//``, ``3/2``, ``/4``): (multiplier, end)."""
    m = _LEN.match(text, i)
    num, slashes, den = m.groups()
    value = Fraction(int(num)) if num else Fraction(1)
    if slashes:
        if den and int(den) == 0:
            return Fraction(10**6), m.end()  # /0: not a length; the bar cannot add up
        value /= (int(den) if den else 2) * 2 ** (len(slashes) - 1)
    return value, m.end()


@dataclass
class Bar:
    length: Fraction
    meter: Fraction | None
    loose: bool = False  # touches a repeat, an ending or a section line
    rest_bars: bool = False  # a multi-measure rest


def _tuplet(text: str, i: int, compound: bool) -> tuple[Fraction, int, int]:
    """``(p:q:r`` at ``i`` (``(`` included): (factor, notes, end)."""
    m = re.compile(r"\((\d)(?::(\d*))?(?::(\d*))?").match(text, i)
    p = int(m.group(1))
    q = int(m.group(2)) if m.group(2) else {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)
    r = int(m.group(3)) if m.group(3) else p
    return Fraction(q, p) if p else Fraction(1), r, m.end()


def bars(body: list[str], meter: Fraction | None, unit: Fraction | None) -> list[Bar]:
    """The bars of the body with their lengths in whole notes."""
    out: list[Bar] = []
    unit = unit or (Fraction(1, 16) if meter is not None and meter < Fraction(3, 4) else Fraction(1, 8))
    cur, loose, rest_bars = Fraction(0), True, False  # the first bar is loose (pickup)
    tup_factor, tup_left = Fraction(1), 0

    def close(next_loose: bool):
        nonlocal cur, loose, rest_bars
        out.append(Bar(cur, meter, loose or next_loose, rest_bars))
        cur, loose, rest_bars = Fraction(0), next_loose, False

    for line in body:
        field = _FIELD.match(line)
        if field or line.startswith("%"):
            if field and field.group(1) == "M":
                meter = parse_meter(field.group(2))
            elif field and field.group(1) == "L":
                unit = parse_fraction(field.group(2)) or unit
            continue
        text, i, n = line.split("%")[0], 0, 0
        n = len(text)
        while i < n:
            c = text[i]
            if c in "\"!+{":
                j = text.find({"{": "}"}.get(c, c), i + 1)
                i = n if j < 0 else j + 1
                continue
            if c == "[" and i + 2 < n and text[i + 1].isalpha() and text[i + 2] == ":":
                j = text.find("]", i)
                j = n if j < 0 else j
                letter, value = text[i + 1], text[i + 3:j]
                if letter == "M":
                    meter = parse_meter(value)
                elif letter == "L":
                    unit = parse_fraction(value) or unit
                i = j + 1
                continue
            if c in "|:" or (c == "[" and i + 1 < n and (text[i + 1] == "|" or text[i + 1].isdigit())):
                j = _bar_end(text, i)
                mark = text[i:j]
                if "|" in mark or "::" in mark:
                    close(any(s in mark for s in (":", "||", "|]", "[|")) or any(d.isdigit() for d in mark))
                else:  # an ending ([1) without a bar line before it, or a stray colon
                    loose = loose or any(d.isdigit() for d in mark)
                i = j
                continue
            if c == "(" and i + 1 < n and text[i + 1].isdigit():
                compound = meter is not None and meter.numerator % 3 == 0 and meter.numerator > 3
                tup_factor, tup_left, i = _tuplet(text, i, compound)
                continue
            if c == "[":  # a chord: as long as its first note, times what follows ]
                j = text.find("]", i)
                if j < 0:
                    break
                inner = re.search(r"[A-Ga-gzx][',]*", text[i + 1:j])
                first = Fraction(1)
                if inner:
                    first, _ = note_length(text[i + 1:j], inner.end())
                mult, i = note_length(text, j + 1)
                cur += _scaled(unit * first * mult, tup_factor, tup_left)
                tup_left = max(0, tup_left - 1)
                continue
            if c in "ABCDEFGabcdefgzx":
                j = i + 1
                while j < n and text[j] in "',":
                    j += 1
                mult, i = note_length(text, j)
                cur += _scaled(unit * mult, tup_factor, tup_left)
                tup_left = max(0, tup_left - 1)
                continue
            if c == "Z":
                rest_bars = True
                _, i = note_length(text, i + 1)
                continue
            i += 1
    if cur > 0:
        close(True)
    return [b for b in out if b.length > 0]


def _bar_end(text: str, i: int) -> int:
    """The end of the bar line (with repeat colons, ``]`` of ``|]`` and ending numbers) at ``i``."""
    j, n = i, len(text)
    while j < n:
        ch = text[j]
        if ch in "|:" or (ch == "]" and j > i and text[j - 1] == "|"):
            j += 1
        elif ch == "[" and j + 1 < n and (text[j + 1].isdigit() or text[j + 1] == "|"):
            j += 1
        elif ch.isdigit() and j > i and (text[j - 1] in "|[" or text[j - 1].isdigit()):
            j += 1
        else:
            break
    return j


def _scaled(value: Fraction, factor: Fraction, left: int) -> Fraction:
    return value * factor if left > 0 else value


def bar_check(tune: str) -> tuple[bool, str]:
    """(do the bars add up?, why not)."""
    header, body = split_header(tune)
    fields = header_fields(header)
    meter = parse_meter(fields["M"]) if "M" in fields else None
    unit = parse_fraction(fields["L"]) if "L" in fields else None
    if meter is None:
        return False, "no metre"
    found = bars(body, meter, unit)
    if not found:
        return False, "no bars"
    full = 0
    for k, b in enumerate(found):
        if b.rest_bars or b.meter is None:
            continue
        if b.length == b.meter:
            full += 1
        elif b.length > b.meter:
            return False, f"bar {k + 1} is over-full ({b.length} of {b.meter})"
        elif not (b.loose or k == 0 or k == len(found) - 1):
            return False, f"bar {k + 1} is short ({b.length} of {b.meter})"
    return (True, "") if full else (False, "no full bar")


def bars_ok(tune: str) -> bool:
    return bar_check(tune)[0]
