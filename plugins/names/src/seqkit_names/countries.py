"""Match what the user typed to one of a model's countries (the languages of the data files).

Case-insensitive, by common alias (``Greece`` -> ``Greek``, ``Russia`` -> ``Russian``), and with the
closest matches in the error when nothing fits.
"""

from __future__ import annotations

import difflib

from seqkit import SeqkitError

ALIASES = {
    "Arabic": ["arab", "arabia", "saudi arabia", "egypt", "lebanon", "syria", "jordan", "iraq",
               "morocco", "algeria", "tunisia", "uae", "united arab emirates"],
    "Chinese": ["china", "prc", "taiwan", "hong kong", "mandarin", "cantonese"],
    "Czech": ["czechia", "czech republic", "czechoslovakia", "bohemia"],
    "Dutch": ["netherlands", "the netherlands", "holland", "flemish", "nl"],
    "English": ["england", "britain", "great britain", "uk", "united kingdom", "british", "usa",
                "us", "america", "united states", "american"],
    "French": ["france"],
    "German": ["germany", "deutschland", "austria", "austrian", "deutsch"],
    "Greek": ["greece", "hellas", "hellenic", "cyprus"],
    "Irish": ["ireland", "eire", "gaelic"],
    "Italian": ["italy", "italia"],
    "Japanese": ["japan", "nippon", "nihon"],
    "Korean": ["korea", "south korea", "north korea", "republic of korea"],
    "Polish": ["poland", "polska"],
    "Portuguese": ["portugal", "brazil", "brazilian"],
    "Russian": ["russia", "russian federation", "ussr", "soviet union"],
    "Scottish": ["scotland", "scots"],
    "Spanish": ["spain", "espana", "mexico", "mexican", "argentina", "colombia", "latin america"],
    "Vietnamese": ["vietnam", "viet nam"],
}
_ALIAS_TO_COUNTRY = {a: c for c, aliases in ALIASES.items() for a in aliases}


def _key(text: str) -> str:
    from .data import fold

    return " ".join(fold(text).lower().replace(".", " ").replace("_", " ").replace("-", " ").split())


def aliases_of(country: str) -> list[str]:
    return ALIASES.get(country, [])


def resolve_country(text: str | None, countries: list[str]) -> str:
    """The country in ``countries`` that ``text`` names; a ``SeqkitError`` naming the closest ones
    otherwise."""
    listing = ", ".join(countries)
    if text is None or not text.strip():
        raise SeqkitError(f"no country given; choose one of: {listing}")
    key = _key(text)
    by_key = {c.lower(): c for c in countries}
    if key in by_key:
        return by_key[key]
    country = _ALIAS_TO_COUNTRY.get(key)
    if country in countries:
        return country
    candidates = {c.lower(): c for c in countries}
    candidates.update({a: c for a, c in _ALIAS_TO_COUNTRY.items() if c in countries})
    close = difflib.get_close_matches(key, list(candidates), n=6, cutoff=0.6)
    suggestions = list(dict.fromkeys(candidates[k] for k in close))[:3]
    hint = f"; closest: {', '.join(suggestions)}" if suggestions else ""
    raise SeqkitError(f"unknown country {text.strip()!r}{hint} (known: {listing})")
