"""Reading integers the way people write them, and talking to num2words.

Only this module and ``data.py`` import num2words, and only inside functions.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from seqkit import SeqkitError

_PLAIN = re.compile(r"[+-]?\d+")
_COMMAS = re.compile(r"[+-]?\d{1,3}(,\d{3})+")
_UNDERSCORES = re.compile(r"[+-]?\d+(_\d+)+")
_MINUS_SIGNS = "\u2212\u2012\u2013"  # − ‒ – typed or pasted for a minus


MAX_DIGITS = 1000  # Python itself refuses to convert more than 4,300


def parse_number(text: str) -> int:
    """An integer from ``"42"``, ``"-7"``, ``"1,000"`` or ``"1_000"``; a clear error otherwise."""
    raw = text if len(text) <= 60 else f"{text[:40]}...({len(text):,} characters)"  # as echoed in errors
    s = text.strip()
    for ch in _MINUS_SIGNS:
        s = s.replace(ch, "-")
    if not s:
        raise SeqkitError("empty number: give an integer such as 42, -7, 1,000 or 1_000")
    if _PLAIN.fullmatch(s) or _COMMAS.fullmatch(s) or _UNDERSCORES.fullmatch(s):
        digits = s.replace(",", "").replace("_", "").lstrip("+-")
        if len(digits) > MAX_DIGITS:
            raise SeqkitError(f"{raw!r} has {len(digits):,} digits; no model (nor num2words) writes "
                              f"numbers of more than {MAX_DIGITS}")
        return int(s.replace(",", "").replace("_", ""))
    if re.fullmatch(r"[+-]?\d+(\.\d*)?[eE][+-]?\d+", s):
        raise SeqkitError(f"{raw!r} is in scientific notation; write the integer out in digits")
    if re.fullmatch(r"[+-]?\d*\.\d+|[+-]?\d+\.", s):
        raise SeqkitError(f"{raw!r} is not an integer: only whole numbers can be written as words here")
    if "," in s and re.fullmatch(r"[+-]?[\d,]+", s):
        raise SeqkitError(f"{raw!r}: commas must separate groups of three digits (1,000,000)")
    raise SeqkitError(f"{raw!r} is not an integer (write digits with an optional sign: 42, -7, 1,000, 1_000)")


def parse_bound(text: str | int) -> int:
    """A range bound such as ``1e9``, ``1e15``, ``1000000`` or ``10**12`` (a positive integer)."""
    if isinstance(text, int):
        value = text
    else:
        s = str(text).strip().replace("_", "").replace(",", "")
        m = re.fullmatch(r"10\s*\*\*\s*(\d+)", s)
        try:
            value = 10 ** int(m.group(1)) if m else Decimal(s)
        except InvalidOperation:
            raise SeqkitError(f"{text!r} is not a number (try 1e9 or 1000000000)") from None
        if isinstance(value, Decimal):
            if value != value.to_integral_value():
                raise SeqkitError(f"{text!r} is not a whole number")
            value = int(value)
    if value < 2:
        raise SeqkitError(f"the range bound must be at least 2, not {text}")
    return value


def languages() -> list[str]:
    from num2words import CONVERTER_CLASSES

    return sorted(CONVERTER_CLASSES)


def check_lang(lang: str) -> str:
    """``lang`` if num2words knows it, else a one-line error listing the languages it knows."""
    known = languages()
    if lang not in known:
        import difflib

        close = difflib.get_close_matches(lang, known, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise SeqkitError(f"num2words does not know the language {lang!r}{hint}; known: {', '.join(known)}")
    return lang


def reference_words(n: int, lang: str = "en") -> str:
    """num2words' own spelling of ``n``; a ``SeqkitError`` when num2words cannot write it."""
    from num2words import num2words

    try:
        return num2words(n, lang=lang)
    except OverflowError:
        raise SeqkitError(f"{n} is too large for num2words in {lang!r}") from None
    except NotImplementedError:
        raise SeqkitError(f"num2words cannot write {lang!r} numbers") from None


def num2words_limit(lang: str) -> int | None:
    """The first magnitude num2words refuses in ``lang`` (its converter's MAXVAL), if it has one."""
    from num2words import CONVERTER_CLASSES

    return getattr(CONVERTER_CLASSES[lang], "MAXVAL", None)


def check_supported(n: int, lang: str) -> None:
    """A one-line error when num2words itself cannot write ``n`` in ``lang``."""
    limit = num2words_limit(lang)
    if limit is not None and abs(n) >= limit:
        raise SeqkitError(f"{n} has {len(str(abs(n)))} digits: beyond what num2words supports in "
                          f"{lang!r} (below 10^{len(str(limit)) - 1})")


def power_text(x: int) -> str:
    """``10^15`` for a power of ten from 1000 up, the plain number otherwise."""
    a = abs(x)
    s = str(a)
    if a >= 1000 and s == "1" + "0" * (len(s) - 1):
        s = f"10^{len(s) - 1}"
    return ("-" if x < 0 else "") + s


def describe_range(lo: int, hi: int) -> str:
    """``-10^15 < n < 10^15`` or ``0 <= n < 10^9``."""
    if lo == -(hi - 1):
        return f"-{power_text(hi)} < n < {power_text(hi)}"
    return f"{power_text(lo)} <= n < {power_text(hi)}"
