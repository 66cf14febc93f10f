import pytest
from seqkit_names.countries import ALIASES, resolve_country

from seqkit import SeqkitError

COUNTRIES = sorted(ALIASES)


@pytest.mark.parametrize("text, country", [
    ("Greek", "Greek"), ("greek", "Greek"), ("GREECE", "Greek"), ("Russia", "Russian"),
    ("japan", "Japanese"), ("Czech Republic", "Czech"), ("the netherlands", "Dutch"),
    ("Viet Nam", "Vietnamese"), ("  korea ", "Korean"), ("España", "Spanish"),
])
def test_aliases_and_case(text, country):
    assert resolve_country(text, COUNTRIES) == country


def test_unknown_lists_closest():
    with pytest.raises(SeqkitError, match=r"unknown country 'Grek'; closest: Greek"):
        resolve_country("Grek", COUNTRIES)
    with pytest.raises(SeqkitError, match="closest: Russian"):
        resolve_country("Rusia", COUNTRIES)
    with pytest.raises(SeqkitError, match=r"unknown country 'Atlantis' \(known: Arabic"):
        resolve_country("Atlantis", COUNTRIES)


def test_empty_and_missing_from_model():
    with pytest.raises(SeqkitError, match="no country given"):
        resolve_country("  ", COUNTRIES)
    # an alias only counts when the model knows its country
    with pytest.raises(SeqkitError, match="unknown country 'Greece'"):
        resolve_country("Greece", ["Alpha", "Beta"])
