import pytest
from seqkit_names.data import clean_name, fold, load_folder

from seqkit.errors import SeqkitError


@pytest.mark.parametrize("raw, clean", [
    ("Ślusàrski", "Slusarski"), ("Großmann", "Grossmann"), ("Lysansky,", "Lysansky"),
    ("Rafaj1", "Rafaj"), ("Lu:", "Lu"), ("  De   santis ", "De santis"), ("O'Brien", "O'Brien"),
    ("Abdank-Kossovsky", "Abdank-Kossovsky"), ("Nuñez", "Nunez"), ("Gwang ", "Gwang"),
])
def test_clean_name_keeps_and_folds(raw, clean):
    assert clean_name(raw) == clean


@pytest.mark.parametrize("junk", ["", "   ", "To The First Page", "To The First\xa0 Page", "Maxa/B",
                                  "12", "a b c d e"])
def test_clean_name_drops_junk(junk):
    assert clean_name(junk) is None


def test_fold_is_ascii():
    assert fold("Żółć Łódź ÆØ") == "Zolc Lodz AeO"


def test_load_tiny_folder(tiny_folder):
    d = load_folder(tiny_folder)
    assert d.countries == ["Alpha", "Beta"]
    assert d.counts() == {"Alpha": 41, "Beta": 40}  # 40 + Kalobros (folded), duplicates gone
    assert "Kalobros" in d.names["Alpha"]
    assert d.duplicates == 5 + 2  # 5 repeated Alpha names; "Varaov," and "Vateov1" repeat Beta names
    assert set(d.dropped) == {"To The First Page", "Maxa/B"}
    train, val = d.split()
    assert len(val) == 8 and len(train) == 73  # 10% of each country
    assert sorted(c for _, c in val) == [0] * 4 + [1] * 4
    assert d.split() == (train, val)  # seeded


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(SeqkitError, match="does not exist"):
        load_folder(tmp_path / "nope")
    with pytest.raises(SeqkitError, match="no <Language>.txt"):
        load_folder(tmp_path)
    (tmp_path / "A.txt").write_text("Smith\n")
    (tmp_path / "B.txt").write_text("\n  \nTo The First Page\n")
    with pytest.raises(SeqkitError, match="B.txt has no names"):
        load_folder(tmp_path)


def test_not_utf8(tmp_path):
    (tmp_path / "A.txt").write_bytes(b"Smith\n")
    (tmp_path / "B.txt").write_bytes(b"M\xfcller\n")
    with pytest.raises(SeqkitError, match="not UTF-8"):
        load_folder(tmp_path)


def test_shared_data(shared_names):
    from seqkit_names.data import ALPHABET

    d = load_folder(shared_names)
    assert len(d.countries) == 18 and d.lines == 20074
    assert d.counts()["Greek"] == 193 and d.counts()["Arabic"] == 108
    assert d.counts()["Russian"] == 9340
    assert set(d.dropped) == {"To The First Page", "To The First\xa0 Page", "Maxa/B"}
    assert all(set(n) <= ALPHABET for v in d.names.values() for n in v)
    for names in d.names.values():  # no case-insensitive duplicates within a country
        assert len({n.lower() for n in names}) == len(names)
    train, val = d.split()
    assert len(val) == sum(max(1, round(n * 0.1)) for n in d.counts().values())


def test_download_needs_a_verified_checksum(monkeypatch):
    from seqkit_names import data

    monkeypatch.delenv("SEQKIT_NAMES_ZIP_SHA256", raising=False)

    def no_network(*a, **k):
        raise AssertionError("tests never download")

    monkeypatch.setattr("seqkit.data.download", no_network)
    with pytest.raises(SeqkitError, match="pass --data DIR"):
        data.resolve_data(None)


def test_cached_tutorial_data_is_checked_file_by_file(shared_names, tmp_path, monkeypatch):
    import shutil

    from seqkit_names import data

    cache = tmp_path / "cache" / "names" / "tutorial-data"
    shutil.copytree(shared_names, cache, ignore=shutil.ignore_patterns("*.md"))
    assert data.resolve_data(None) == cache  # all 18 SHA-256s match: no download
    (cache / "Greek.txt").write_text("Papadopoulos\n")
    monkeypatch.delenv("SEQKIT_NAMES_ZIP_SHA256", raising=False)
    with pytest.raises(SeqkitError, match="not pinned"):
        data.resolve_data(None)
