"""Generation that honours the ABC format: a logit processor (core's ``generate(processors=...)``,
also ``generate_numpy``) that masks the characters that may not come next.

A small state machine per tune reads the text so far (one character at a time, kept between
steps) and looks only at the current line:

* **header** (``X:`` up to the first ``K:`` line): every line is a field ``F:value`` with ``F``
  in ``grammar.HEADER_FIELDS``; ``X:`` comes first (a number), ``M:`` before ``K:``, and
  ``X``/``M``/``L``/``Q``/``K`` once each. The values of ``K:``, ``M:``, ``L:`` and ``Q:`` are
  spelled out one character at a time along the known values (``grammar``): a ``K:Die`` cannot
  start. ``L:`` may be left out (the standard's default from the metre, as most course tunes
  do). ``--key``/``--meter``/``--unit`` narrow a field to the one value given (in the body too:
  a ``K:``/``M:``/``L:`` line there keeps the fixed value).
* **body**: a ``<`` at the start of a line can only become ``<end>``; ``K:``/``M:``/``L:``/``Q:``
  lines take known values, and only ``K L M P Q T W w`` start a field line (no voices).
* **music syntax** (what music21 cannot read otherwise): a length follows a note, rest or chord
  (at most two digits a number, no leading 0, at most two slashes), at most two octave marks of one
  kind, accidentals (``^ ^^ _ __ =``) and decoration letters come before a note, a ``:`` belongs to
  ``|:``, ``:|`` or ``::``, a letter in a music line is a note, a rest or a decoration, a
  decoration is a known ``!name!``, a chord holds at most four notes, grace notes and chord
  symbols are short and end on their line, and ``A>B`` joins notes of the unit length.
* **bars** (``Bars``): the current bar's length is counted against the metre; a full bar takes no
  more notes, a note may not overflow it, a short bar ends only as a pickup or at a repeat or
  ending; chords hold notes only and stay on one line.
* **repeats**: no ``<end>``, ``||``, ``|]`` or second ``|:`` while a ``|:`` or a first ending waits
  for its ``:|``; a second ending only after a closed first one.
* **the length cap**: in the last ``max(40, max_chars // 10)`` characters the tune is wound up:
  after the next bar line (``|``, or ``|]``; ``:|`` when a repeat is open) the line ends and
  ``<end>`` follows; with ``HARD_STOP`` characters left a bar line is forced where the tune
  stands. Such a tune is ``capped``.

Nothing is rewritten afterwards: what is masked is never drawn, and the model's distribution over
what remains is kept (renormalised).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

import numpy as np

from .data import END, START
from .grammar import CLOSED_FIELDS, DECORATIONS, HEADER_FIELDS, values

ONCE = "XMLQK"
# field lines a tune's body may hold: key, unit, metre, part, tempo, title, words (no voices)
BODY_FIELDS = "KLMPQTWw"
HARD_STOP = 11  # characters left when a bar line is forced: '"' + ":|" + "]" + "\n" + "<end>" and a margin


def s_all_but(chars: frozenset, *out: str) -> frozenset:
    return chars - set(out)


@cache
def _trie(words: tuple[str, ...]) -> dict[str, frozenset]:
    """prefix -> the characters that may follow it (``\\n`` once a whole word is written)."""
    nxt: dict[str, set] = {}
    for w in words:
        for i in range(len(w) + 1):
            nxt.setdefault(w[:i], set()).add(w[i] if i < len(w) else "\n")
    return {k: frozenset(v) for k, v in nxt.items()}


def field_trie(letter: str, fixed: str | None = None) -> dict[str, frozenset]:
    if fixed is not None:
        return _trie((fixed,))
    words = values(letter)
    return _trie(tuple(words) + tuple(" " + w for w in words))


NOTES = frozenset("ABCDEFGabcdefgzx")
PITCHES = frozenset("ABCDEFGabcdefg")
NOTE_START = NOTES | frozenset("^_=([")
DIGITS = frozenset("0123456789")
ALL_CHARS = frozenset(chr(i) for i in range(32, 127)) | {"\n", "\t"}
LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# letters a music line may hold: notes, rests (z x Z), the spacer y and the decoration letters
# (H fermata, L accent, M/P mordents, O coda, S segno, T trill, u/v bowings); ~ and . decorate too
DECO_LETTERS = frozenset("HLMOPSTuv~.")
MUSIC_LETTERS = NOTES | frozenset("Zy") | (DECO_LETTERS & LETTERS)
CHORD_NOTES = 4  # at most this many notes in a chord [CEG]
GROUP_CHARS = {"[": 16, "{": 10, '"': 40}  # the longest chord, grace group and chord symbol
CHORD_ROOTS = frozenset("ABCDEFG")
CHORD_CHARS = frozenset("#bmajindusgM0123456789+-/()o") | CHORD_ROOTS
ANNOTATION = frozenset("^_<>@")  # "^text": text placed above, below, left, right, anywhere


def _quoted(text: str) -> frozenset:
    """What may follow ``"`` + ``text``: a chord symbol (``"Am"``, ``"D7/F#"``, ``"Bbmaj7"``) or an
    annotation (``"^fine"``), short and on one line."""
    if not text:
        return CHORD_ROOTS | ANNOTATION | {"("}
    if len(text) >= (GROUP_CHARS['"'] if text[0] in ANNOTATION else 12):
        return frozenset('"')
    if text[0] in ANNOTATION:
        return ALL_CHARS - {"\n"}
    return CHORD_CHARS | {'"'}


DECORATION_TRIE = {k: frozenset("!" if c == "\n" else c for c in v)
                   for k, v in _trie(DECORATIONS).items()}


@cache
def _note_value(base: Fraction, num: str, slashes: int, den: str, factor) -> Fraction:
    """A note's length in whole notes: ``base`` (the unit or a chord's) times ``num``, divided by
    ``den`` (or 2 per slash), times a tuplet's ``factor``."""
    v = base * int(num) if num else base
    if slashes:
        if den and int(den) == 0:
            return Fraction(10**6)  # /0: no length at all; never fits
        v = v / ((int(den) if den else 2) * 2 ** (slashes - 1))
    return v * factor if factor != 1 else v


@dataclass
class Note:
    """A note (or chord) being written: its base length, the digits and slashes of its length so
    far, its octave marks, its letter (``]`` for a chord) and whether a ``>``/``<`` came before it."""

    base: Fraction
    letter: str
    broken: bool = False
    num: str = ""
    slashes: int = 0
    den: str = ""
    marks: str = ""

    def with_digit(self, d: str) -> tuple:
        """(base, num, slashes, den) once the digit ``d`` is written."""
        return (self.base, self.num, self.slashes, self.den + d) if self.slashes else \
            (self.base, self.num + d, self.slashes, self.den)


@dataclass
class Bars:
    """The running length of the current bar (whole notes), for the bar mask: a bar that is full
    takes no more notes, a note's length may not overflow it, and a short bar may end only as a
    pickup (the tune's first bar) or at a repeat or ending (``:|``, a bar after ``|:``/``[1``)."""

    meter: Fraction | None = None
    unit: Fraction | None = None
    length: Fraction = Fraction(0)
    closed: int = 0
    loose: bool = False  # the current bar began at a repeat, an ending or a section line
    pending: Note | None = None  # a note or chord being written
    tup_factor: Fraction = Fraction(1)
    tup_left: int = 0
    group: str = ""  # inside "..." ! ... ! { ... } or [ ... ]: its opening character
    chord: str = ""
    prev: str = ""
    prev2: str = ""
    broken: bool = False  # after > or <: the next note takes no length of its own
    off: bool = False  # an inline M:/L: change: the mask stands aside for the rest of the tune
    open: bool = False  # a |: waits for its :|
    ending: int = 0  # 1: in a first ending (|1 or [1) that waits for its :|; 2: a second may follow

    @property
    def needs_close(self) -> bool:
        """A repeat or first ending is open: the tune may not end before a :| closes it."""
        return not self.off and self.meter is not None and (self.open or self.ending == 1)

    def _repeats(self, c: str, prev: str) -> None:
        if c == ":" and prev in "|:":  # |: or :: (which closes and opens)
            self.open, self.ending = True, 0
        elif c == "|" and prev == ":":  # :|
            self.open = False
            self.ending = 2 if self.ending == 1 else 0
        elif c in DIGITS and prev in "|[":
            self.ending = 1 if c == "1" else 0

    def _endings_denied(self) -> set:
        """After | or [: a first ending may not start inside one, a second needs a closed first."""
        return ({"1"} if self.ending == 1 else set()) | (set("23456789") if self.ending != 2 else set())

    def start(self, fields: dict) -> None:
        from .validity import parse_fraction, parse_meter

        self.meter = parse_meter(fields["M"]) if "M" in fields else None
        self.unit = parse_fraction(fields["L"]) if "L" in fields else None
        if self.unit is None and self.meter is not None:
            self.unit = Fraction(1, 16) if self.meter < Fraction(3, 4) else Fraction(1, 8)

    def _value(self, base: Fraction, num: str, slashes: int, den: str) -> Fraction:
        return _note_value(base, num, slashes, den, self.tup_factor if self.tup_left else 1)

    def _finish(self) -> None:
        if self.pending is not None:
            p = self.pending
            self.length += self._value(p.base, p.num, p.slashes, p.den)
            self.pending = None
            self.tup_left = max(0, self.tup_left - 1)

    def feed(self, c: str) -> None:
        prev, self.prev, self.prev2 = self.prev, c, self.prev
        if self.off or self.meter is None:
            return
        if self.group == "[" and not self.chord and (c in DIGITS or c == "|"):
            self.group = ""  # [1 (an ending) or [| (a bar line): not a chord
            if c in DIGITS:
                self.loose = True
                self._repeats(c, "[")
                return
        if self.group:
            if self.group in ("[", "{"):
                self.chord += c
            if c == {"[": "]", "{": "}"}.get(self.group, self.group):
                if self.group == "[":
                    self._close_bracket()
                self.group = ""
            return
        if self.pending is not None:
            p = self.pending
            if c in "',":
                p.marks += c
                return
            if c in DIGITS:
                if p.slashes:
                    p.den += c
                else:
                    p.num += c
                return
            if c == "/":
                p.slashes += 1
                return
            self._finish()
        self._repeats(c, prev)
        if c in NOTES:
            self.pending = Note(self.unit, c, self.broken)
            self.broken = False
        elif c in "<>":  # a broken rhythm: A>B
            self.broken = True
        elif c in "\"!{[":
            self.group, self.chord = c, ""
        elif c == "(":
            self.tup_left = -1  # maybe a tuplet: the digit decides
        elif c in DIGITS and self.tup_left == -1:
            p = int(c)
            q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if self.meter.numerator % 3 == 0 else 2)
            self.tup_factor, self.tup_left = Fraction(q, p), p
        elif c == "|" or (c == ":" and prev == ":"):  # a bar line (:: is one too)
            if self.length > 0 or self.closed == 0:
                self.closed += self.length > 0
                self.length, self.loose = Fraction(0), prev == ":"
            else:
                self.loose = self.loose or prev in ":|]"
        elif c in ":]" or (c in DIGITS and prev in "|["):
            self.loose = True
        if self.tup_left == -1 and c != "(":
            self.tup_left = 0

    def _close_bracket(self) -> None:
        text = self.chord[:-1]
        if len(text) >= 2 and text[0].isalpha() and text[1] == ":":  # an inline field
            self.off = self.off or text[0] in "ML"
            return
        if text[:1] == "|" or text[:1].isdigit():  # [| or [1: a bar line or an ending
            self.loose = True
            return
        from .validity import note_length

        first = re.search(r"[A-Ga-gzx][',]*", text)
        mult = note_length(text, first.end())[0] if first else Fraction(1)
        self.pending = Note(self.unit * mult, "]")

    def denied(self) -> frozenset:
        """The characters the bar does not allow next."""
        if self.off or self.meter is None:
            return frozenset()
        if self.group in ("[", "{"):  # a chord of notes on one line (no inline fields), [1 / [|, grace notes
            return self._group_denied()
        if self.group:
            return frozenset()
        room = self.meter - self.length
        p = self.pending
        if p is not None:
            bad = self._length_denied(p)
            bad |= {d for d in DIGITS - bad if self._value(*p.with_digit(d)) > room}
            if p.num or p.slashes or p.broken:  # A>B only between notes of the unit length (music21 dots and
                bad |= {"<", ">"}  # halves them; the bar count would not)
            value = self._value(p.base, p.num, p.slashes, p.den)
            if value > room and "/" not in bad:  # the note as it stands is too long: only / or digits
                return ALL_CHARS - (DIGITS - bad) - {"/"}
            return frozenset(bad) | self._after(self.length + value)
        return self._after(self.length) | self._syntax_denied()

    @staticmethod
    def _length_denied(p: Note) -> set:
        """A note's octave marks and length: ``c''``, ``C,,`` (at most two marks, of one kind, none on
        a rest or after the length), ``A2``, ``A3/2``, ``A/4``, ``A//`` (at most two digits a number,
        no leading 0, at most two slashes and none after a denominator)."""
        num, slashes, den, marks, letter = p.num, p.slashes, p.den, p.marks, p.letter
        bad = set(DIGITS) | {"/"} if p.broken else set()
        if num or slashes or len(marks) >= 2 or letter not in PITCHES:
            bad |= {"'", ","}
        elif marks:
            bad.add("," if marks[0] == "'" else "'")
        digits = den if slashes else num
        if slashes >= 2 or len(digits) >= 2:
            bad |= DIGITS
        elif not digits:
            bad.add("0")
        if slashes >= 2 or den:
            bad.add("/")
        return bad

    def _group_denied(self) -> frozenset:
        text, limit = self.chord, GROUP_CHARS[self.group]
        notes = len(re.findall(r"[A-Ga-gzx]", text))
        close = "]" if self.group == "[" else "}"
        if self.group == "[":
            inner = NOTES | frozenset("^_=',/]") | DIGITS | ({"|"} if not text else set())
        else:
            inner = PITCHES | frozenset("^_=',/}") | DIGITS
        denied = ALL_CHARS - inner
        note = re.search(r"([A-Ga-gzx])([',]*)(\d*)(/*)(\d*)$", text)
        if note is None:
            denied |= DIGITS | {"/"} if text or self.group == "{" else {"/"}
        else:  # the length of a note in the group: as after a note outside it
            letter, marks, num, slashes, den = note.groups()
            denied |= self._length_denied(Note(Fraction(0), letter, num=num, slashes=len(slashes), den=den,
                                               marks=marks))
        if not notes:
            denied |= {close}
        if notes >= CHORD_NOTES:
            denied |= NOTES | frozenset("^_=")
        if len(text) >= limit and notes:
            denied = ALL_CHARS - {close}
        if self.group == "[" and not text:
            denied |= self._endings_denied()
        return frozenset(denied)

    def _syntax_denied(self) -> frozenset:
        """What may not follow outside a note: lengths only after a note, rest or chord, accidentals
        only before a note, decorations only before notes, letters that are music, ``:`` only in
        ``|:``, ``:|`` and ``::``, no second ``|:`` while one is open and no ``||``/``|]`` while a
        repeat or first ending waits for its ``:|``."""
        prev, prev2 = self.prev, self.prev2
        denied = set(LETTERS - MUSIC_LETTERS) | {"/"}
        if prev in ("^", "_"):
            return ALL_CHARS - PITCHES - ({prev} if prev2 != prev else set())
        if prev == "=":
            return ALL_CHARS - PITCHES
        if prev in DECO_LETTERS:
            return ALL_CHARS - NOTE_START - DECO_LETTERS - frozenset('"!{')
        if prev == ":":
            if prev2 not in ("|", ":"):
                return ALL_CHARS - frozenset("|:")
            denied.add(":")
        if prev == "(":
            denied |= ALL_CHARS - NOTE_START - frozenset("23456789\"!~.{") - (DECO_LETTERS & LETTERS)
        elif prev == "|":
            denied |= self._endings_denied() | {"0"}
            if self.open:
                denied.add(":")
            if self.needs_close:
                denied |= {"|", "]"}
        elif prev != "Z":
            denied |= DIGITS
        return frozenset(denied)

    def _after(self, length: Fraction) -> frozenset:
        """What may not follow once the bar holds ``length``: no note when it is full, no bar line
        when it is short (unless a pickup or at a repeat or ending)."""
        if length >= self.meter:
            return NOTE_START | {"("}
        if length > 0 and not (self.closed == 0 or self.loose or self.prev == ":"):
            return frozenset("|")
        return frozenset()


@dataclass
class TuneState:
    """What the mask needs to know about one tune so far."""

    header: bool = True
    line: str = ""
    seen: set = field(default_factory=set)
    fields: dict = field(default_factory=dict)
    ended: bool = False
    quote: bool = False
    deco: bool = False
    last_line_bar: bool = False
    capped: bool = False
    bars: Bars = field(default_factory=Bars)

    def feed(self, c: str) -> None:
        if self.ended:
            return
        if c != "\n":
            self.line += c
            if not self.header:
                if c == '"' and not self.deco:
                    self.quote = not self.quote
                elif c == "!" and not self.quote:
                    self.deco = not self.deco
            if self.line == END and not self.header:
                self.ended = True
            elif not self.header:
                self._music(self.line)
            return
        line, self.line = self.line, ""
        self.quote = self.deco = False
        self.bars.group = ""  # quotes, decorations, chords and grace notes end with their line
        if line.strip() == START:
            self.header, self.seen, self.fields, self.bars = True, set(), {}, Bars()
            return
        if len(line) >= 2 and line[1] == ":":
            if self.header:
                self.seen.add(line[0])
                self.fields.setdefault(line[0], line[2:])
                if line[0] == "K":
                    self.header = False
                    self.bars.start(self.fields)
            elif line[0] in "ML":
                self.bars.start({**self.fields, line[0]: line[2:]})
                self.fields[line[0]] = line[2:]
        elif not self.header and not line.startswith(("%", "<")):
            if len(line) == 1 and line in BODY_FIELDS:  # a held letter that was music after all
                self.bars.feed(line)
            self.bars.feed(" ")  # a line break ends a note, not a bar
        self.last_line_bar = line.rstrip().endswith(("|", "]"))

    def music_line(self) -> bool:
        """Is the current line (so far) music, whose characters the bar count has seen?"""
        line = self.line
        if self.header or line.startswith(("%", "<")):
            return False
        return not (line[:1].isalpha() and (len(line) == 1 or line[1] == ":"))

    def _music(self, line: str) -> None:
        if not self.music_line():
            if len(line) == 1 and line.isalpha() and line not in BODY_FIELDS:  # music: no field starts so
                self.bars.feed(line)
            return
        if len(line) == 2 and line[0] in BODY_FIELDS:  # the held first letter: not a field after all
            self.bars.feed(line[0])
        self.bars.feed(line[-1])


class AbcFormat:
    """The logit processor: ``AbcFormat(tok, max_chars, key=, meter=, unit=)``, one per batch.

    ``capped[r]`` says whether row ``r`` was wound up at the length cap."""

    def __init__(self, tok, max_chars: int, key: str | None = None, meter: str | None = None,
                 unit: str | None = None):
        self.itos = [None if t in tok.specials else t for t in tok.itos]
        self.V = len(self.itos)
        self.max_chars = max_chars
        self.wind_up = max(40, max_chars // 10)
        self.fixed = {"K": key, "M": meter, "L": unit}
        self.states: list[TuneState] = []
        self.read = 0
        self.prompt_len: int | None = None
        self._masks: dict[frozenset, np.ndarray] = {}
        self.all = frozenset(c for c in self.itos if c is not None)

    @property
    def capped(self) -> list[bool]:
        return [s.capped for s in self.states]

    def _mask(self, allowed: frozenset) -> np.ndarray:
        m = self._masks.get(allowed)
        if m is None:
            m = np.array([c is not None and c in allowed for c in self.itos], dtype=bool)
            self._masks[allowed] = m
        return m

    def __call__(self, tokens: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self.prompt_len is None or tokens.shape[1] < self.read:  # a new batch
            self.prompt_len, self.read = tokens.shape[1], 0
            self.states = [TuneState() for _ in range(tokens.shape[0])]
        for r, state in enumerate(self.states):
            for i in tokens[r, self.read:]:
                ch = self.itos[int(i)] if 0 <= int(i) < self.V else None
                if ch is not None:
                    state.feed(ch)
        self.read = tokens.shape[1]
        left = self.max_chars - (tokens.shape[1] - self.prompt_len)
        for r, state in enumerate(self.states):
            allowed = None if state.ended else self.allowed(state, left)
            if allowed is not None:
                mask = self._mask(allowed)
                if (mask & np.isfinite(logits[r])).any():  # else a dead end (a vocabulary without
                    logits[r, ~mask] = -np.inf  # the characters needed): the row goes unmasked
        return logits

    def allowed(self, s: TuneState, left: int) -> frozenset | None:
        """The characters that may come next (None: any)."""
        line = s.line
        if s.header:
            return self._header(s, left)
        if line.startswith("<"):
            return frozenset(END[len(line)]) if END.startswith(line) and len(line) < len(END) else None
        if len(line) >= 2 and line[1] == ":" and line[0] in "KMLQ":
            return self._value(line[0], line[2:])
        if len(line) == 1 and line.isalpha() and line not in BODY_FIELDS:
            return self.all - {":"} - s.bars.denied()  # not a field a tune's body may hold: music
        if len(line) == 1 and line in BODY_FIELDS and line not in MUSIC_LETTERS:
            return frozenset(":")  # K: Q: W: w:
        denied = frozenset()
        if s.music_line() and s.deco:  # !name!: a known decoration
            denied = self.all - DECORATION_TRIE.get(line[line.rindex("!") + 1:], frozenset("!"))
        elif s.music_line() and s.quote:  # a chord symbol or annotation, on one line and short
            denied = self.all - _quoted(line[line.rindex('"') + 1:])
        elif s.music_line():
            denied = s.bars.denied()
            if line == "" and left > self.wind_up:
                denied = denied - set(BODY_FIELDS)  # a field line may start here (not while winding up)
            elif line == "":
                denied = denied | set(BODY_FIELDS)
        if line == "" and (s.bars.needs_close or not (s.bars.closed or s.bars.length)):
            denied = denied | {"<"}  # a repeat is open (no <end> before its :|), or no music yet
        if left <= self.wind_up:
            wind = self._wind_up(s, left)
            if wind is not None:
                return wind if left <= HARD_STOP or not (wind - denied) else wind - denied
        return self.all - denied if denied else None

    def _header(self, s: TuneState, left: int) -> frozenset | None:
        line = s.line
        if line == "":
            if "X" not in s.seen:
                return frozenset("X")
            ok = [f for f in HEADER_FIELDS if f != "X" and not (f in ONCE and f in s.seen)]
            if "M" not in s.seen:
                ok = [f for f in ok if f != "K"]
            if left <= self.wind_up:  # no more free text: M: if missing, then K:
                ok = [f for f in "MK" if f in ok]
            return frozenset(ok)
        if len(line) == 1:
            return frozenset(":")
        letter, value = line[0], line[2:]
        if letter == "X":
            digits = frozenset("0123456789")
            return digits | {"\n"} if value and len(value) < 6 else (frozenset("\n") if value else digits)
        if letter in CLOSED_FIELDS:
            return self._value(letter, value)
        return frozenset("\n") if len(value) >= 100 or (value and left <= self.wind_up) else None

    def _value(self, letter: str, value: str) -> frozenset:
        trie = field_trie(letter, self.fixed.get(letter))
        return trie.get(value, frozenset("\n"))

    def _wind_up(self, s: TuneState, left: int) -> frozenset | None:
        line = s.line
        close = s.bars.needs_close and not (s.quote or s.deco) and left > HARD_STOP - 3
        if close and line in ("", ":"):  # close the open repeat first: a line ":|"
            s.capped = True
            return frozenset(":" if line == "" else "|")
        if line == "" and s.last_line_bar:
            s.capped = True
            return frozenset("<")
        end = line.rstrip()
        if not s.quote and not s.deco and end.endswith("|]"):
            s.capped = True
            return frozenset("\n")
        if not s.quote and not s.deco and end.endswith("|"):
            s.capped = True
            return frozenset("\n]")
        if left <= HARD_STOP and line:
            s.capped = True
            shut = '"' if s.quote else "!" if s.deco else ":" if close and s.bars.prev != ":" else "|"
            return frozenset(shut)
        if close and s.bars.prev != ":" and s.music_line():
            return s_all_but(self.all, "|")  # a bar line now must be :|
        return None
