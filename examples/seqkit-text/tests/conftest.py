import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test gets its own seqkit data folder (where `train` saves named models)."""
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "seqkit-data"))
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "seqkit-cache"))
    monkeypatch.setenv("SEQKIT_PROGRESS", "0")
