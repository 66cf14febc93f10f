import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tests/helpers.py (pytest runs in importlib mode)

os.environ.setdefault("SEQKIT_PROGRESS", "0")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Each test gets its own cache and data folders."""
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SEQKIT_LOAD_PLUGINS", raising=False)
    yield


@pytest.fixture
def fresh_plugins():
    """Reload plugins before and after a test that changes which ones are registered."""
    from seqkit.host import plugins

    plugins.reset()
    yield plugins
    plugins.reset()


def pytest_configure(config):
    # Tiny models on a 2-core machine: more threads only add contention.
    import torch

    torch.set_num_threads(1)
