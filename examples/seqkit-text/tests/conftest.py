import pytest

from seqkit.testing import isolate_dirs


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test gets its own seqkit data folder (where `train` saves named models) and cache."""
    isolate_dirs(monkeypatch, tmp_path)
