"""Generation that honours the ABC format (constraints.AbcFormat through core's logit processors),
the validity checks of `abc eval` (validity.py) and key transposition (transpose.py)."""

from __future__ import annotations

import string
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from seqkit_abc.constraints import AbcFormat
from seqkit_abc.data import END
from seqkit_abc.generator import sample_tunes
from seqkit_abc.grammar import HEADER_FIELDS, key_fifths, known
from seqkit_abc.transpose import INTERVALS, transpose
from seqkit_abc.validity import bar_check, header_ok, split_header

from seqkit import CharTokenizer, generate_numpy

TOK = CharTokenizer.build([string.ascii_letters + string.digits + string.punctuation + " \n"])

GOOD = [
    # pickup, repeats, first and second endings
    "X:1\nT:Polka\nM:2/4\nL:1/8\nK:G\nd/c/|:BG D>D|Ec cA/B/|1 GB Gd/c/:|2 GB G2||",
    # no L: (default 1/8 from C|), triplets, chords, grace notes, chord symbols, decorations
    'X:2\nT:Reel\nM:C|\nK:Ador\n|:"Am"EA~A2 (3Bcd ed|{g}[EA]2 !trill!B2 c4:|',
    # a metre change in the body, a broken rhythm, a rest
    "X:3\nT:Set\nM:3/4\nL:1/8\nK:D\nA>B c2 d2|z6|\nM:2/4\nd2 e2|f4|]",
]
BAD_BARS = [
    "X:4\nM:2/4\nL:1/8\nK:G\nBG D>D|Ec cA/B/ d|GB G2||",  # an over-full bar
    "X:5\nM:6/8\nL:1/8\nK:G\nGAB cde|dcB|A3 B3|G6|]",  # a short bar in the middle
    "X:6\nM:4/4\nL:1/8\nK:C\nCDEF G/0|]",  # a length that is not one
]


@pytest.mark.parametrize("tune", GOOD)
def test_good_tunes_pass(tune):
    assert header_ok(tune)
    assert bar_check(tune) == (True, "")


@pytest.mark.parametrize("tune", BAD_BARS)
def test_bars_that_do_not_add_up_fail(tune):
    ok, why = bar_check(tune)
    assert not ok and why


@pytest.mark.parametrize("header", ["X:1\nM:6/8\nK:Die", "X:1\nM:6/8\nK:Cromans", "X:1\nM:7/5\nK:G",
                                    "X:1\nL:1/3\nM:C\nK:G", "X:1\nK:G", "X:1\nM:C\nK:HP"])
def test_bad_headers_fail(header):
    assert not header_ok(header + "\nGABc|")


def test_known_values():
    assert key_fifths("Bbmaj") == -2 and key_fifths("F#m") == 3 and key_fifths("Edor") == 2
    assert key_fifths("G#") is None  # eight sharps
    assert known("K", " Dm") and known("M", "C|") and known("L", "1/16") and not known("K", "Die")


class Bigram(torch.nn.Module):
    """Random next-character logits (a fixed table indexed by the last character): noise that
    the format mask has to shape into a well-formed tune."""

    def __init__(self, seed: int, spread: float):
        super().__init__()
        g = np.random.default_rng(seed)
        self.table = g.normal(0, spread, (TOK.vocab_size, TOK.vocab_size)).astype(np.float32)
        self.table[:, TOK.stoi["\n"]] += 1.5  # lines of a sensible length
        self.config = SimpleNamespace(max_len=None)

    def forward(self, idx, cond=None, cache=None):
        return torch.from_numpy(self.table)[idx], None

    def numpy(self):
        table = self.table

        class Np:
            config = SimpleNamespace(max_len=None)

            def __call__(self, idx, cond=None, cache=None):
                return table[np.asarray(idx)], None

        return Np()


def _fields(header_lines):
    return [line[0] for line in header_lines if line[1:2] == ":"]


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 10_000), spread=st.sampled_from([1.0, 3.0]))
def test_masked_noise_is_a_well_formed_tune(seed, spread):
    """Whatever the model prefers, a tune has a header of known fields with a known key and metre,
    and ends with <end> at a bar line within the cap."""
    tunes = sample_tunes(Bigram(seed, spread), TOK, "<start>\nX:", n=3, temperature=1.0, max_chars=300,
                         generator=torch.Generator().manual_seed(seed))
    for t in tunes:
        header, body = split_header(t.abc)
        assert t.ended and t.text.endswith(END)
        assert header_ok(t.abc), t.abc
        assert set(_fields(header)) <= set(HEADER_FIELDS) and _fields(header)[0] == "X"
        assert header[-1].startswith("K:") and body
        if t.capped:
            assert body[-1].rstrip().endswith(("|", "]")), t.abc


@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_same_mask_works_with_numpy_sampling(seed):
    model = Bigram(seed, 3.0)
    fmt = AbcFormat(TOK, 200)
    prompt = np.array([TOK.encode("<start>\nX:")] * 2)
    rows = generate_numpy(model.numpy(), prompt, 200, rng=np.random.default_rng(seed), processors=[fmt],
                          suppress_ids=[TOK.stoi[s] for s in TOK.specials])
    for row in rows:
        text = "<start>\nX:" + TOK.decode(row.tolist())
        assert END in text
        tune = text.split(END)[0].removeprefix("<start>\n").strip("\n")
        assert header_ok(tune), tune


def test_fixed_key_metre_and_unit_are_honoured():
    tunes = sample_tunes(Bigram(1, 3.0), TOK, "<start>\nX:", n=4, max_chars=300, key="Dmix", meter="6/8",
                         unit="1/8", generator=torch.Generator().manual_seed(0))
    for t in tunes:
        lines = t.abc.split("\n")
        assert [x for x in lines if x.startswith("K:")] and all(x == "K:Dmix" for x in lines if x.startswith("K:"))
        assert all(x == "M:6/8" for x in lines if x.startswith("M:"))
        assert all(x == "L:1/8" for x in lines if x.startswith("L:"))


MASK_TOK = SimpleNamespace(specials=(), itos=[chr(i) for i in range(32, 127)] + ["\n"])


def _mask_walk(tune: str):
    """Feed ``<start>`` + tune through the mask; the first character it refuses (index, allowed),
    or None when every character was allowed."""
    from seqkit_abc.constraints import TuneState

    fmt, state = AbcFormat(MASK_TOK, 100_000), TuneState()
    for c in "<start>\n":
        state.feed(c)
    for i, c in enumerate(tune + "\n" + END):
        allowed = None if state.ended else fmt.allowed(state, 100_000 - i)
        if allowed is not None and c not in allowed:
            return i, allowed
        state.feed(c)
    return None


def _allowed_after(text: str) -> frozenset:
    from seqkit_abc.constraints import TuneState

    fmt, state = AbcFormat(MASK_TOK, 100_000), TuneState()
    for c in "<start>\n" + text:
        state.feed(c)
    allowed = fmt.allowed(state, 100_000)
    return frozenset(MASK_TOK.itos) if allowed is None else allowed


REAL_SHAPES = [
    *GOOD,
    'X:8\nT:Jig\nM:6/8\nK:Edor\n~E3 B,EG|!trill!F2E D2B,|1 "Em"E3 E2:|2 E3 EFG||\n|:[Bd]2c {c}B2A|G2F E3::\n'
    'e2f g2a|(3bag f e3:|\nP:B\nW:Words under the tune\n|]',
    "X:9\nT:Hornpipe\nM:C|\nL:1/8\nK:Bb\n(3FGA|B2 ^c=d _e/f/g/a/ b2|c'2 b,2 C,2 z2|!fermata!B8|]",
]


@pytest.mark.parametrize("tune", REAL_SHAPES)
def test_the_mask_allows_real_tune_shapes(tune):
    """Pickups, repeats, endings, ::, chords, grace notes, decorations, chord symbols, tuplets,
    accidentals, octave marks, fields and words in the body: nothing a real tune writes is refused."""
    assert _mask_walk(tune) is None


def test_the_mask_allows_the_course_tunes(h):
    """At least 96% of the val.txt tunes pass the mask character by character (149 of 153 when it
    was written: one bar that is short in the middle of a tune, one with ``|7``...)."""
    from seqkit_abc.data import load_tunes

    tunes = load_tunes(h.shared("abc-pa3", "val.txt"))
    refused = [t.split("\n")[1] for t in tunes if _mask_walk(t) is not None]
    assert len(refused) <= 0.04 * len(tunes), refused


HEAD = "X:1\nM:2/4\nL:1/8\nK:G\n"


@pytest.mark.parametrize("text, refused", [
    (HEAD + "c''", "',"),
    (HEAD + "AB c''", "',"),  # at most two octave marks
    (HEAD + "c'", ","),  # of one kind
    (HEAD + "z", "',"),  # none on a rest
    (HEAD + "AB z", "',"),
    (HEAD + "A//", "/0123456789"),  # at most two slashes, no digits after them
    (HEAD + "A3/2", "/"),  # nothing after a denominator
    (HEAD + "A", "0"),  # no A0
    (HEAD + "A ", "0123456789/"),  # a length belongs to a note
    (HEAD + "AB :", " AB\n"),  # a lone colon: only :| or ::
    (HEAD + "|:AB cd|", ":"),  # no second |: while one is open
    (HEAD + "|:AB cd|", "|]"),  # nor || or |] before its :|
    (HEAD + "AB|1 cd|", "|]"),  # a first ending waits for :|
    (HEAD + "[CEGc", "ABCDEFGabcdefg^_="),  # at most four notes in a chord
    (HEAD + "[C", " \n|"),  # a chord stays a chord
    (HEAD + "[c/2", "/"),  # its notes' lengths follow the rules of a note's
    (HEAD + "[c//", "/0123456789"),
    (HEAD + "A2", "<>"),  # a broken rhythm joins notes of the unit length
    (HEAD + "A>B", "0123456789/<>"),
    (HEAD + "{g", " \nz|"),  # so does a grace group
    (HEAD + "!tri", "abcdefghijkmnpqrstuvwxyz!"),  # a known decoration: trill or trio
    (HEAD + "^", "=_zxH|"),  # an accidental belongs to a note (^^ once)
    (HEAD + "^^", "^"),
    (HEAD + "AB L", ":|0123456789"),  # a decoration letter (L: accent) decorates a note
    (HEAD + "AB ", "IJKNQRVWXY"),  # letters that are not music
    (HEAD + "AB cd|\n", "V"),  # no voices
])
def test_the_mask_refuses_what_music21_cannot_read(text, refused):
    assert not set(refused) & _allowed_after(text)


def test_bad_fixed_values_are_one_line_errors(h, tmp_path):
    r = h.cli(["abc", "generate", "--key", "H", "-n", "1"], tmp_path)
    assert r.exit_code == 2 and r.output.strip().splitlines() == ["Error: --key 'H' is not a known ABC key "
                                                                  "(e.g. G, Dmix, Ador, Bbmaj, F#m)"]
    r = h.cli(["abc", "generate", "--meter", "7/5", "-n", "1"], tmp_path)
    assert r.exit_code == 2 and "Error: --meter '7/5'" in r.output and "Traceback" not in r.output


# ----------------------------------------------------------------------------- transposition

def _pitches(tune):
    """The sounding pitches (chord symbols, which music21 voices in an octave of its own, left out)."""
    from music21 import converter, harmony

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        notes = converter.parse(tune, format="abc").flatten().notes
        return [p.midi for n in notes if not isinstance(n, harmony.ChordSymbol) for p in n.pitches]


def test_transposition_rewrites_key_notes_and_chords():
    tune = 'X:1\nM:2/4\nL:1/8\nK:D\n"D"FA =cB|"G/B"^c2 d\'2|[K:G] B,2 G2|'
    up = transpose(tune, 2)  # D -> E: a major second
    assert up == 'X:1\nM:2/4\nL:1/8\nK:E\n"E"GB =dc|"A/C#"^d2 e\'2|[K:A] C2 A2|'
    assert transpose("X:1\nM:C\nK:HP\nABc|", 2) is None  # not a known key
    assert transpose("X:1\nM:C\nK:E\nABc|", 4) is None  # G# major: more sharps than allowed


def test_transposed_tunes_parse_and_sound_the_same_transposed():
    tunes = [*GOOD, "X:7\nM:6/8\nL:1/8\nK:Bb\n|:FBd fdB|=B^cd _e2 e|[Bdf]3 F,3:|"]
    checked = 0
    for i, semitones in enumerate(sorted(INTERVALS)):
        tune = tunes[i % len(tunes)]
        moved = transpose(tune, semitones)
        if moved is None:
            continue
        assert [p + semitones for p in _pitches(tune)] == _pitches(moved)
        assert bar_check(moved) == bar_check(tune)
        checked += 1
    assert checked >= 5


def test_transposed_course_tunes_sound_the_same(h):
    from seqkit_abc.data import load_tunes

    tunes = load_tunes(h.shared("abc-pa3", "val.txt"))[:6]
    for i, tune in enumerate(tunes):
        s = sorted(INTERVALS)[i % len(INTERVALS)]
        moved = transpose(tune, s)
        if moved is not None:
            assert [p + s for p in _pitches(tune)] == _pitches(moved), tune.split("\n")[1]
