import pytest
from seqkit_names.data import clean_name, fold, load_folder

from seqkit import SeqkitError


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


def test_the_zips_data_folder_points_to_its_names_folder(tmp_path, tiny_folder):
    """data.zip unpacks to data/names/*.txt beside data/eng-fra.txt: --data data/ says where to look."""
    import shutil

    shutil.copytree(tiny_folder, tmp_path / "data" / "names")
    (tmp_path / "data" / "eng-fra.txt").write_text("Go.\tVa !\nRun!\tCours !\n", encoding="utf-8")
    with pytest.raises(SeqkitError, match=r"eng-fra.txt has no names .*; the names are in .*data/names$"):
        load_folder(tmp_path / "data")
    (tmp_path / "data" / "eng-fra.txt").unlink()
    with pytest.raises(SeqkitError, match=r"has no <Language>.txt files; the names are in"):
        load_folder(tmp_path / "data")


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


def _fake_download(monkeypatch, folder, tmp_path, tamper=False):
    """Serve a data.zip built from ``folder`` instead of the network; record the calls."""
    import zipfile

    archive = tmp_path / "served" / "data.zip"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted(folder.glob("*.txt")):
            data = f.read_bytes() + (b"Tampered\n" if tamper and f.name == "Greek.txt" else b"")
            z.writestr(f"data/names/{f.name}", data)
        z.writestr("data/eng-fra.txt", "not a names file\n")
    calls = []

    def fake(url, sha256, filename=None, progress=True, **kw):
        calls.append((url, sha256))
        return archive

    monkeypatch.setattr("seqkit.download", fake)
    return calls, archive


def test_download_checks_every_extracted_file(shared_names, tmp_path, monkeypatch):
    from seqkit_names import data

    monkeypatch.delenv("SEQKIT_NAMES_ZIP_SHA256", raising=False)
    calls, _ = _fake_download(monkeypatch, shared_names, tmp_path)
    folder = data.resolve_data(None)
    assert calls == [(data.DATA_ZIP_URL, None)]  # no zip checksum pinned: the files are checked
    assert sorted(p.name for p in folder.glob("*.txt")) == sorted(data.FILE_SHA256)
    assert data.load_folder(folder).counts()["Greek"] == 193
    assert data.resolve_data(None) == folder and len(calls) == 1  # cached: no second download
    monkeypatch.setenv("SEQKIT_NAMES_ZIP_SHA256", "ab" * 32)
    (folder / "Greek.txt").unlink()
    data.resolve_data(None)
    assert calls[-1] == (data.DATA_ZIP_URL, "ab" * 32)  # a checksum from the environment is passed on


def test_download_with_wrong_content_is_an_error_and_deleted(shared_names, tmp_path, monkeypatch):
    from seqkit_names import data

    monkeypatch.delenv("SEQKIT_NAMES_ZIP_SHA256", raising=False)
    _, archive = _fake_download(monkeypatch, shared_names, tmp_path, tamper=True)
    with pytest.raises(SeqkitError, match="Greek.txt .SHA-256 mismatch"):
        data.resolve_data(None)
    assert not archive.exists()
    assert not (tmp_path / "cache" / "names" / "tutorial-data" / "Greek.txt").exists()


def test_download_of_a_non_zip_is_an_error(tmp_path, monkeypatch):
    from seqkit_names import data

    bad = tmp_path / "data.zip"
    bad.write_text("<html>not found</html>")
    monkeypatch.setattr("seqkit.download", lambda *a, **k: bad)
    with pytest.raises(SeqkitError, match="not a zip file"):
        data.resolve_data(None)
    assert not bad.exists()  # not kept in the cache


def test_cached_tutorial_data_is_checked_file_by_file(shared_names, tmp_path, monkeypatch):
    import shutil

    from seqkit_names import data

    cache = tmp_path / "cache" / "names" / "tutorial-data"
    shutil.copytree(shared_names, cache, ignore=shutil.ignore_patterns("*.md"))
    assert data.resolve_data(None) == cache  # all 18 SHA-256s match: no download
    (cache / "Greek.txt").write_text("Papadopoulos\n")
    calls, _ = _fake_download(monkeypatch, shared_names, tmp_path)
    assert data.resolve_data(None) == cache and len(calls) == 1  # one changed file: fetched again
    assert data.load_folder(cache).counts()["Greek"] == 193
